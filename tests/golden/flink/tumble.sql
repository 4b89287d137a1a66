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
  'path' = '/srv/flowc/examples/tumble/bids.csv',
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

CREATE TEMPORARY VIEW `hot_items` AS
WITH `hot_items__w4` AS (
  SELECT
    `auction`,
    `price` AS `__arg1`,
    `date_time`
  FROM (
    SELECT
      `auction`,
      `price`,
      `date_time`,
      `__proctime`
    FROM (
      SELECT
        `auction`,
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
    WHERE
      `price` > 10
  ) AS `__q3`
)
SELECT
  `auction`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `bids`,
  MAX(`__arg1`) AS `top_price`,
  `window_time` AS `__wt5`
FROM TABLE(TUMBLE(TABLE `hot_items__w4`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND))
GROUP BY
  `auction`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TABLE `bids__late` (
  `auction` BIGINT,
  `bidder` BIGINT,
  `price` BIGINT,
  `channel` STRING,
  `date_time` TIMESTAMP(6)
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/tumble/out/late_bids',
  'format' = 'csv',
  'csv.null-literal' = ''
);

CREATE TABLE `hot_items__sink` (
  `auction` BIGINT,
  `window_start` TIMESTAMP(6),
  `window_end` TIMESTAMP(6),
  `bids` BIGINT,
  `top_price` BIGINT
)

WITH (
  'connector' = 'filesystem',
  'path' = '/srv/flowc/examples/tumble/out/hot_items',
  'format' = 'csv',
  'csv.null-literal' = ''
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `bids__late`
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `date_time`
FROM `bids__raw`
WHERE
  NOT (
    NOT `date_time` IS NULL
    AND (
      CURRENT_WATERMARK(`__rowtime`) IS NULL
      OR `__rowtime` > CURRENT_WATERMARK(`__rowtime`)
    )
  );
INSERT INTO `hot_items__sink`
SELECT
  `auction`,
  CAST(`window_start` AS TIMESTAMP(6)) AS `window_start`,
  CAST(`window_end` AS TIMESTAMP(6)) AS `window_end`,
  `bids`,
  `top_price`
FROM `hot_items`;
END;
