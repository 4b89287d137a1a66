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
  'path' = '/srv/flowc/examples/session/bids.csv',
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

CREATE TEMPORARY VIEW `visits` AS
WITH `visits__w3` AS (
  SELECT
    `bidder`,
    `price` AS `__arg1`,
    `date_time`
  FROM (
    SELECT
      `bidder`,
      `price`,
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
  `bidder`,
  `__first` AS `window_start`,
  `__last` + INTERVAL '3' SECOND AS `window_end`,
  `bids`,
  `spent`
FROM (
  SELECT
    `bidder`,
    MIN(CAST(`date_time` AS TIMESTAMP(3))) AS `__first`,
    MAX(CAST(`date_time` AS TIMESTAMP(3))) AS `__last`,
    COUNT(*) AS `bids`,
    SUM(CAST(`__arg1` AS BIGINT)) AS `spent`
  FROM TABLE(SESSION(TABLE `visits__w3` PARTITION BY `bidder`, DESCRIPTOR(`date_time`), INTERVAL '2.999' SECOND))
  GROUP BY
    `bidder`,
    `window_start`,
    `window_end`
) AS `__q4`;

CREATE TABLE `visits__sink` (
  `bidder` BIGINT,
  `window_start` TIMESTAMP(6),
  `window_end` TIMESTAMP(6),
  `bids` BIGINT,
  `spent` BIGINT
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/session/out/visits',
  'format' = 'csv',
  'csv.null-literal' = ''
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `visits__sink`
SELECT
  `bidder`,
  CAST(`window_start` AS TIMESTAMP(6)) AS `window_start`,
  CAST(`window_end` AS TIMESTAMP(6)) AS `window_end`,
  `bids`,
  `spent`
FROM `visits`;
END;
