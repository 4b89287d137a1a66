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

CREATE TEMPORARY VIEW `q15` AS
SELECT
  `day`,
  COUNT(*) AS `total_bids`,
  COUNT(CAST(CASE WHEN `price` < 10000 THEN 1 END AS BIGINT)) AS `rank1_bids`,
  COUNT(
    CAST(CASE WHEN (
      `price` >= 10000
    ) AND (
      `price` < 1000000
    ) THEN 1 END AS BIGINT)
  ) AS `rank2_bids`,
  COUNT(CAST(CASE WHEN `price` >= 1000000 THEN 1 END AS BIGINT)) AS `rank3_bids`,
  COUNT(DISTINCT `bidder`) AS `total_bidders`,
  COUNT(DISTINCT CAST(CASE WHEN `price` < 10000 THEN `bidder` END AS BIGINT)) AS `rank1_bidders`,
  COUNT(
    DISTINCT CAST(CASE WHEN (
      `price` >= 10000
    ) AND (
      `price` < 1000000
    ) THEN `bidder` END AS BIGINT)
  ) AS `rank2_bidders`,
  COUNT(DISTINCT CAST(CASE WHEN `price` >= 1000000 THEN `bidder` END AS BIGINT)) AS `rank3_bidders`,
  COUNT(DISTINCT `auction`) AS `total_auctions`,
  COUNT(DISTINCT CAST(CASE WHEN `price` < 10000 THEN `auction` END AS BIGINT)) AS `rank1_auctions`,
  COUNT(
    DISTINCT CAST(CASE WHEN (
      `price` >= 10000
    ) AND (
      `price` < 1000000
    ) THEN `auction` END AS BIGINT)
  ) AS `rank2_auctions`,
  COUNT(DISTINCT CAST(CASE WHEN `price` >= 1000000 THEN `auction` END AS BIGINT)) AS `rank3_auctions`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `day`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      DATE_FORMAT(`date_time`, 'yyyy-MM-dd') AS `day`,
      `__proctime`
    FROM (
      SELECT
        `auction`,
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
          `url`,
          `date_time`,
          `extra`,
          `__proctime`
        FROM `bid`
      ) AS `__q1`
    ) AS `__q2`
  ) AS `__q3`
) AS `__q4`
GROUP BY
  `day`;
