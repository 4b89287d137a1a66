CREATE TABLE `bid__raw` (
  `auction` BIGINT,
  `bidder` BIGINT,
  `price` BIGINT,
  `channel` STRING,
  `url` STRING,
  `date_time` TIMESTAMP(3),
  `extra` STRING,
  `__proctime` AS PROCTIME(),
  `__rowtime` AS COALESCE(`date_time`, CAST(CAST('0001-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP(3))),
  WATERMARK FOR `__rowtime` AS `__rowtime` - INTERVAL '2.001' SECOND
)

WITH (
  'connector' = 'nexmark'
);

CREATE TEMPORARY VIEW `bid` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `url`,
  `__rowtime` AS `date_time`,
  `extra`,
  `__proctime`
FROM `bid__raw`
WHERE
  NOT `date_time` IS NULL
  AND (
    CURRENT_WATERMARK(`__rowtime`) IS NULL
    OR `__rowtime` > CURRENT_WATERMARK(`__rowtime`)
  );

CREATE TEMPORARY VIEW `q22` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  CASE
    WHEN `url` IS NULL
    THEN CAST(NULL AS STRING)
    ELSE COALESCE(SPLIT_INDEX(`url`, '/', 3), '')
  END AS `dir1`,
  CASE
    WHEN `url` IS NULL
    THEN CAST(NULL AS STRING)
    ELSE COALESCE(SPLIT_INDEX(`url`, '/', 4), '')
  END AS `dir2`,
  CASE
    WHEN `url` IS NULL
    THEN CAST(NULL AS STRING)
    ELSE COALESCE(SPLIT_INDEX(`url`, '/', 5), '')
  END AS `dir3`,
  `__proctime`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `channel`,
    `url`,
    `__proctime`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      `channel`,
      `url`,
      `date_time`,
      `extra`,
      `__proctime`
    FROM `bid`
  ) AS `__q1`
) AS `__q2`;
