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

CREATE TEMPORARY VIEW `max_price` AS
WITH `max_price__w3` AS (
  SELECT
    `price` AS `__arg0`,
    `date_time`
  FROM (
    SELECT
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
)
SELECT
  `window_start`,
  `window_end`,
  MAX(`__arg0`) AS `maxprice`,
  `window_time` AS `__wt4`
FROM TABLE(TUMBLE(TABLE `max_price__w3`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND))
GROUP BY
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `q7` AS
SELECT
  `auction`,
  `price`,
  `bidder`,
  `date_time`,
  `extra`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `channel`,
    `url`,
    `date_time`,
    `extra`,
    `window_start`,
    `window_end`,
    `maxprice`,
    `__r1`
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
  ) AS `__q4`
  INNER JOIN (
    SELECT
      `window_start`,
      `window_end`,
      `maxprice`,
      `__wt4` AS `__r1`
    FROM (
      SELECT
        `window_start`,
        `window_end`,
        `maxprice`,
        `__wt4`
      FROM `max_price`
    ) AS `__q2`
  ) AS `__r3`
    ON (
      (
        `price` = `maxprice`
      )
      AND (
        `date_time` >= (
          (
            `__r1` + INTERVAL '0.001' SECOND
          ) - INTERVAL '10' SECOND
        )
      )
    )
    AND (
      `date_time` <= (
        `__r1` + INTERVAL '0.001' SECOND
      )
    )
) AS `__q5`;
