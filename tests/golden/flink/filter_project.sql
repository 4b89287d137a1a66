CREATE TABLE `bids__raw` (
  `auction` BIGINT,
  `bidder` BIGINT,
  `price` BIGINT,
  `channel` STRING,
  `date_time` TIMESTAMP(6),
  `__proctime` AS PROCTIME()
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/filter_project/bids.csv',
  'format' = 'csv',
  'csv.null-literal' = '',
  'csv.field-delimiter' = ','
);

CREATE TEMPORARY VIEW `bids` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `date_time`,
  `__proctime`
FROM `bids__raw`;

CREATE TEMPORARY VIEW `big` AS
SELECT
  `auction`,
  `bidder`,
  CAST(`price` * 100 AS BIGINT) AS `price_cents`,
  `date_time`,
  `__proctime`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `channel`,
    `date_time`,
    `__proctime`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      `channel`,
      `date_time`,
      `__proctime`
    FROM `bids`
  ) AS `__q1`
  WHERE
    (
      `price` > 30
    ) AND (
      `channel` <> 'partner'
    )
) AS `__q2`;

CREATE TABLE `big__sink` (
  `auction` BIGINT,
  `bidder` BIGINT,
  `price_cents` BIGINT,
  `date_time` TIMESTAMP(6)
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/filter_project/out/big',
  'format' = 'csv',
  'csv.null-literal' = ''
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `big__sink`
SELECT
  `auction`,
  `bidder`,
  `price_cents`,
  CAST(`date_time` AS TIMESTAMP(6)) AS `date_time`
FROM `big`;
END;
