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
  'path' = '/srv/flowc/examples/changes/bids.csv',
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

CREATE TEMPORARY VIEW `by_channel` AS
SELECT
  `channel`,
  COUNT(*) AS `bids`,
  MAX(`price`) AS `top`,
  MIN(`price`) AS `low`
FROM (
  SELECT
    `price`,
    `channel`
  FROM (
    SELECT
      `price`,
      `channel`,
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
  ) AS `__q2`
) AS `__q3`
GROUP BY
  `channel`;

CREATE TABLE `by_channel__sink` (
  `channel` STRING,
  `bids` BIGINT,
  `top` BIGINT,
  `low` BIGINT
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/changes/out/by_channel',
  'format' = 'debezium-json'
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `by_channel__sink`
SELECT
  `channel`,
  `bids`,
  `top`,
  `low`
FROM `by_channel`;
END;
