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
  'connector' = 'kafka',
  'topic' = 'bids',
  'properties.bootstrap.servers' = 'b:9092',
  'format' = 'json'
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
  'connector' = 'kafka',
  'topic' = 'auctions',
  'properties.bootstrap.servers' = 'b:9092',
  'format' = 'json'
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

CREATE TABLE `clicks__raw` (
  `user_id` BIGINT,
  `url` STRING,
  `ts` TIMESTAMP(6),
  `__proctime` AS PROCTIME()
)

WITH (
  'connector' = 'kafka',
  'topic' = 'clicks',
  'properties.bootstrap.servers' = 'b:9092',
  'format' = 'json'
);

CREATE TEMPORARY VIEW `clicks` AS
SELECT
  `user_id`,
  `url`,
  `ts`,
  `__proctime`
FROM `clicks__raw`;

CREATE TABLE `sellers__raw` (
  `id` BIGINT,
  `name` STRING,
  `country` STRING,
  `__proctime` AS PROCTIME()
)

WITH (
  'connector' = 'kafka',
  'topic' = 'sellers',
  'properties.bootstrap.servers' = 'b:9092',
  'format' = 'json'
);

CREATE TEMPORARY VIEW `sellers` AS
SELECT
  `id`,
  `name`,
  `country`
FROM (
  SELECT
    `id`,
    `name`,
    `country`,
    ROW_NUMBER() OVER (PARTITION BY `id` ORDER BY `__proctime` DESC) AS `__rn`
  FROM `sellers__raw`
) AS `__versions`
WHERE
  `__rn` = 1;

CREATE TABLE `sellers__versions` (
  `id` BIGINT,
  `name` STRING,
  `country` STRING,
  `__version_time` AS CAST(CAST('0001-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP(3)),
  WATERMARK FOR `__version_time` AS `__version_time`,
  PRIMARY KEY (`id`) NOT ENFORCED
)

WITH (
  'connector' = 'kafka',
  'topic' = 'sellers',
  'properties.bootstrap.servers' = 'b:9092',
  'format' = 'json'
);

CREATE TEMPORARY VIEW `times` AS
SELECT
  `key`,
  `date_time`
FROM (
  SELECT
    `key`,
    `date_time`
  FROM (
    SELECT
      `auction` AS `key`,
      `date_time`,
      `__proctime`
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
          `date_time`,
          `__proctime`
        FROM `bids`
      ) AS `__q1`
    ) AS `__q2`
  ) AS `__q5`
  UNION ALL
  SELECT
    `key`,
    `date_time`
  FROM (
    SELECT
      `id` AS `key`,
      `date_time`,
      `__proctime`
    FROM (
      SELECT
        `id`,
        `date_time`,
        `__proctime`
      FROM (
        SELECT
          `id`,
          `seller`,
          `category`,
          `date_time`,
          `__proctime`
        FROM `auctions`
      ) AS `__q3`
    ) AS `__q4`
  ) AS `__q6`
) AS `__q7`;

CREATE TEMPORARY VIEW `per_key` AS
WITH `per_key__w2` AS (
  SELECT
    `key`,
    `date_time`
  FROM (
    SELECT
      `key`,
      `date_time`
    FROM `times`
  ) AS `__q1`
)
SELECT
  `key`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `n`,
  `window_time` AS `__wt3`
FROM TABLE(TUMBLE(TABLE `per_key__w2`, DESCRIPTOR(`date_time`), INTERVAL '1' MINUTE))
GROUP BY
  `key`,
  `window_start`,
  `window_end`,
  `window_time`;
