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
  'path' = '/srv/flowc/examples/hop/bids.csv',
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

CREATE TEMPORARY VIEW `per_channel` AS
WITH `per_channel__w3` AS (
  SELECT
    `channel`,
    `price` AS `__arg1`,
    `date_time`
  FROM (
    SELECT
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
  ) AS `__q2`
)
SELECT
  `channel`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `n`,
  SUM(CAST(`__arg1` AS BIGINT)) AS `total`,
  `window_time` AS `__wt4`
FROM TABLE(HOP(TABLE `per_channel__w3`, DESCRIPTOR(`date_time`), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY
  `channel`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TABLE `per_channel__sink` (
  `channel` STRING,
  `window_start` TIMESTAMP(6),
  `window_end` TIMESTAMP(6),
  `n` BIGINT,
  `total` BIGINT
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/hop/out/per_channel',
  'format' = 'csv',
  'csv.null-literal' = ''
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `per_channel__sink`
SELECT
  `channel`,
  CAST(`window_start` AS TIMESTAMP(6)) AS `window_start`,
  CAST(`window_end` AS TIMESTAMP(6)) AS `window_end`,
  `n`,
  `total`
FROM `per_channel`;
END;
