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

CREATE TEMPORARY VIEW `q14` AS
SELECT
  `auction`,
  `bidder`,
  CAST(0.908E0 * CAST(`price` AS DOUBLE) AS DOUBLE) AS `price`,
  CAST(CASE
    WHEN (
      CAST(EXTRACT(HOUR FROM `date_time`) AS BIGINT) >= 8
    )
    AND (
      CAST(EXTRACT(HOUR FROM `date_time`) AS BIGINT) <= 18
    )
    THEN 'dayTime'
    WHEN (
      CAST(EXTRACT(HOUR FROM `date_time`) AS BIGINT) <= 6
    )
    OR (
      CAST(EXTRACT(HOUR FROM `date_time`) AS BIGINT) >= 20
    )
    THEN 'nightTime'
    ELSE 'otherTime'
  END AS STRING) AS `bid_time_type`,
  `date_time`,
  CAST(CAST(CHAR_LENGTH(`extra`) AS BIGINT) - CAST(CHAR_LENGTH(REPLACE(`extra`, 'c', '')) AS BIGINT) AS BIGINT) AS `c_counts`,
  `__proctime`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `date_time`,
    `extra`,
    `__proctime`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      `date_time`,
      `extra`,
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
  ) AS `__q2`
  WHERE
    (
      CAST(0.908E0 * CAST(`price` AS DOUBLE) AS DOUBLE) > 1000000
    )
    AND (
      CAST(0.908E0 * CAST(`price` AS DOUBLE) AS DOUBLE) < 50000000
    )
) AS `__q3`;
