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

CREATE TEMPORARY VIEW `bid_windows` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `date_time`,
  `window_start`,
  `window_end`,
  `__proctime`,
  `window_time` AS `__wt1`
FROM TABLE(TUMBLE(TABLE `bids`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND));

CREATE TEMPORARY VIEW `auction_windows` AS
SELECT
  `id`,
  `seller`,
  `category`,
  `date_time`,
  `window_start`,
  `window_end`,
  `__proctime`,
  `window_time` AS `__wt1`
FROM TABLE(TUMBLE(TABLE `auctions`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND));

CREATE TEMPORARY VIEW `joined` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `date_time`,
  `window_start`,
  `window_end`,
  `id`,
  `seller`,
  `category`,
  `a_date_time`,
  `a_window_start`,
  `a_window_end`,
  `__wt1`,
  `__r3`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `channel`,
    CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`,
    `window_start`,
    `window_end`,
    `__wt1`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      `channel`,
      `date_time`,
      `window_start`,
      `window_end`,
      `__proctime`,
      `__wt1`
    FROM `bid_windows`
  ) AS `__q1`
) AS `__q6`
INNER JOIN (
  SELECT
    `id`,
    `seller`,
    `category`,
    `date_time` AS `a_date_time`,
    `window_start` AS `a_window_start`,
    `window_end` AS `a_window_end`,
    `__wt1` AS `__r3`
  FROM (
    SELECT
      `id`,
      `seller`,
      `category`,
      CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`,
      `window_start`,
      `window_end`,
      `__wt1`
    FROM (
      SELECT
        `id`,
        `seller`,
        `category`,
        `date_time`,
        `window_start`,
        `window_end`,
        `__proctime`,
        `__wt1`
      FROM `auction_windows`
    ) AS `__q2`
  ) AS `__q4`
) AS `__r5`
  ON (
    (
      `auction` = `id`
    ) AND (
      `window_start` = `a_window_start`
    )
  )
  AND (
    `window_end` = `a_window_end`
  );

CREATE TEMPORARY VIEW `counts` AS
WITH `counts__w3` AS (
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
        `date_time`,
        `__proctime`
      FROM `bids`
    ) AS `__q1`
  ) AS `__q2`
)
SELECT
  `auction`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `n`,
  `window_time` AS `__wt4`
FROM TABLE(HOP(TABLE `counts__w3`, DESCRIPTOR(`date_time`), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY
  `auction`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `seller_counts` AS
WITH `seller_counts__w3` AS (
  SELECT
    `id`,
    `date_time`
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
    ) AS `__q1`
  ) AS `__q2`
)
SELECT
  `id`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `m`,
  `window_time` AS `__wt4`
FROM TABLE(HOP(TABLE `seller_counts__w3`, DESCRIPTOR(`date_time`), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY
  `id`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `per_window` AS
SELECT
  `auction`,
  `window_start`,
  `window_end`,
  `n`,
  `id`,
  `s_window_start`,
  `s_window_end`,
  `m`,
  `__wt4`,
  `__r3`
FROM (
  SELECT
    `auction`,
    `window_start`,
    `window_end`,
    `n`,
    `__wt4`
  FROM (
    SELECT
      `auction`,
      `window_start`,
      `window_end`,
      `n`,
      `__wt4`
    FROM `counts`
  ) AS `__q1`
) AS `__q6`
LEFT JOIN (
  SELECT
    `id`,
    `window_start` AS `s_window_start`,
    `window_end` AS `s_window_end`,
    `m`,
    `__wt4` AS `__r3`
  FROM (
    SELECT
      `id`,
      `window_start`,
      `window_end`,
      `m`,
      `__wt4`
    FROM (
      SELECT
        `id`,
        `window_start`,
        `window_end`,
        `m`,
        `__wt4`
      FROM `seller_counts`
    ) AS `__q2`
  ) AS `__q4`
) AS `__r5`
  ON (
    (
      `auction` = `id`
    ) AND (
      `window_start` = `s_window_start`
    )
  )
  AND (
    `window_end` = `s_window_end`
  );

CREATE TEMPORARY VIEW `inline` AS
SELECT
  `auction`,
  `bidder`,
  `price`,
  `channel`,
  `date_time`,
  `window_start`,
  `window_end`,
  `id`,
  `seller`,
  `category`,
  `a_date_time`,
  `a_window_start`,
  `a_window_end`,
  `__wt1`,
  `__r5`
FROM (
  SELECT
    `auction`,
    `bidder`,
    `price`,
    `channel`,
    CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`,
    `window_start`,
    `window_end`,
    `__wt1`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      `channel`,
      `date_time`,
      `window_start`,
      `window_end`,
      `__proctime`,
      `window_time` AS `__wt1`
    FROM TABLE(TUMBLE(TABLE `bids`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND))
  ) AS `__q3`
) AS `__q8`
INNER JOIN (
  SELECT
    `id`,
    `seller`,
    `category`,
    `date_time` AS `a_date_time`,
    `window_start` AS `a_window_start`,
    `window_end` AS `a_window_end`,
    `__wt2` AS `__r5`
  FROM (
    SELECT
      `id`,
      `seller`,
      `category`,
      CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`,
      `window_start`,
      `window_end`,
      `__wt2`
    FROM (
      SELECT
        `id`,
        `seller`,
        `category`,
        `date_time`,
        `window_start`,
        `window_end`,
        `__proctime`,
        `window_time` AS `__wt2`
      FROM TABLE(TUMBLE(TABLE `auctions`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND))
    ) AS `__q4`
  ) AS `__q6`
) AS `__r7`
  ON (
    (
      `auction` = `id`
    ) AND (
      `window_start` = `a_window_start`
    )
  )
  AND (
    `window_end` = `a_window_end`
  );
