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

CREATE TEMPORARY VIEW `auction_bids` AS
WITH `auction_bids__w3` AS (
  SELECT
    `auction`,
    `date_time`
  FROM (
    SELECT
      `auction`,
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
)
SELECT
  `auction`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `num`,
  `window_time` AS `__wt4`
FROM TABLE(HOP(TABLE `auction_bids__w3`, DESCRIPTOR(`date_time`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY
  `auction`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `max_bids` AS
WITH `max_bids__w4` AS (
  SELECT
    `num` AS `__arg0`,
    `__t1`
  FROM (
    SELECT
      `window_start`,
      `num`,
      `__wt4` AS `__t1`
    FROM (
      SELECT
        `auction`,
        `window_start`,
        `window_end`,
        `num`,
        `__wt4`
      FROM `auction_bids`
    ) AS `__q2`
  ) AS `__q3`
)
SELECT
  `window_start` - INTERVAL '9.999' SECOND AS `window_start`,
  `window_end` - INTERVAL '9.999' SECOND AS `window_end`,
  MAX(`__arg0`) AS `maxn`,
  `window_time` AS `__wt5`
FROM TABLE(TUMBLE(TABLE `max_bids__w4`, DESCRIPTOR(`__t1`), INTERVAL '2' SECOND, INTERVAL '1.999' SECOND))
GROUP BY
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `q5` AS
SELECT
  `auction`,
  `num`,
  `window_start`,
  `__wt4` AS `__t5`
FROM (
  SELECT
    `auction`,
    `window_start`,
    `window_end`,
    `num`,
    `m_window_start`,
    `m_window_end`,
    `maxn`,
    `__wt4`,
    `__r1`
  FROM (
    SELECT
      `auction`,
      `window_start`,
      `window_end`,
      `num`,
      `__wt4`
    FROM `auction_bids`
  ) AS `__q4`
  INNER JOIN (
    SELECT
      `window_start` AS `m_window_start`,
      `window_end` AS `m_window_end`,
      `maxn`,
      `__wt5` AS `__r1`
    FROM (
      SELECT
        `window_start`,
        `window_end`,
        `maxn`,
        `__wt5`
      FROM `max_bids`
    ) AS `__q2`
  ) AS `__r3`
    ON (
      (
        `__wt4` - INTERVAL '9.999' SECOND
      ) = (
        `__r1` - INTERVAL '11.998' SECOND
      )
    )
    AND (
      `num` >= `maxn`
    )
) AS `__q6`;
