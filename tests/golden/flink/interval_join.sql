CREATE TABLE `bids__raw` (
  `auction` BIGINT,
  `bidder` BIGINT,
  `price` BIGINT,
  `channel` STRING,
  `date_time` TIMESTAMP(3),
  `__proctime` AS PROCTIME(),
  `__rowtime` AS COALESCE(`date_time`, CAST(CAST('0001-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP(3))),
  WATERMARK FOR `__rowtime` AS `__rowtime` - INTERVAL '5.001' SECOND
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/interval_join/bids.csv',
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
  `__rowtime` AS `date_time`,
  `__proctime`
FROM `bids__raw`
WHERE
  NOT `date_time` IS NULL
  AND (
    CURRENT_WATERMARK(`__rowtime`) IS NULL
    OR `__rowtime` > CURRENT_WATERMARK(`__rowtime`)
  );

CREATE TABLE `auctions__raw` (
  `id` BIGINT,
  `seller` BIGINT,
  `category` STRING,
  `date_time` TIMESTAMP(3),
  `__proctime` AS PROCTIME(),
  `__rowtime` AS COALESCE(`date_time`, CAST(CAST('0001-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP(3))),
  WATERMARK FOR `__rowtime` AS `__rowtime` - INTERVAL '5.001' SECOND
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/interval_join/auctions.csv',
  'format' = 'csv',
  'csv.null-literal' = '',
  'csv.field-delimiter' = ','
);

CREATE TEMPORARY VIEW `auctions` AS
SELECT
  `id`,
  `seller`,
  `category`,
  `__rowtime` AS `date_time`,
  `__proctime`
FROM `auctions__raw`
WHERE
  NOT `date_time` IS NULL
  AND (
    CURRENT_WATERMARK(`__rowtime`) IS NULL
    OR `__rowtime` > CURRENT_WATERMARK(`__rowtime`)
  );

CREATE TEMPORARY VIEW `bids_in_auction` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `date_time`,
  `id`,
  `seller`,
  `category`,
  `a_date_time`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `channel`,
    `date_time`,
    `__proctime`
  FROM `bids`
) AS `__q3`
INNER JOIN (
  SELECT
    `id`,
    `seller`,
    `category`,
    `date_time` AS `a_date_time`
  FROM (
    SELECT
      `id`,
      `seller`,
      `category`,
      `date_time`,
      `__proctime`
    FROM `auctions`
  ) AS `__q1`
) AS `__r2`
  ON (
    (
      `auction` = `id`
    ) AND (
      `date_time` >= `a_date_time`
    )
  )
  AND (
    `date_time` <= (
      `a_date_time` + INTERVAL '10' SECOND
    )
  );

CREATE TABLE `bids_in_auction__sink` (
  `auction` BIGINT,
  `bidder` BIGINT,
  `price` BIGINT,
  `channel` STRING,
  `date_time` TIMESTAMP(6),
  `id` BIGINT,
  `seller` BIGINT,
  `category` STRING,
  `a_date_time` TIMESTAMP(6)
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/interval_join/out/bids_in_auction',
  'format' = 'csv',
  'csv.null-literal' = ''
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `bids_in_auction__sink`
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  CAST(`date_time` AS TIMESTAMP(6)) AS `date_time`,
  `id`,
  `seller`,
  `category`,
  CAST(`a_date_time` AS TIMESTAMP(6)) AS `a_date_time`
FROM `bids_in_auction`;
END;
