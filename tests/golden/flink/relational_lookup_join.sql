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

CREATE TEMPORARY VIEW `enriched` AS
SELECT
  `auction`,
  `price`,
  `name`,
  `country`,
  `__proctime`
FROM (
  SELECT
    `__q3`.`auction`,
    `__q3`.`bidder`,
    `__q3`.`price`,
    `__q3`.`channel`,
    `__q3`.`date_time`,
    `__v4`.`id` AS `id`,
    `__v4`.`name` AS `name`,
    `__v4`.`country` AS `country`,
    `__q3`.`__proctime`
  FROM (
    SELECT
      `auction`,
      `bidder`,
      `price`,
      `channel`,
      `date_time`,
      `__proctime`
    FROM `bids`
  ) AS `__q3`
  INNER JOIN `sellers__versions` FOR SYSTEM_TIME AS OF `__q3`.`date_time` AS `__v4`
    ON `__q3`.`bidder` = `__v4`.`id`
) AS `__q5`;

CREATE TEMPORARY VIEW `maybe` AS
SELECT
  `__q4`.`auction`,
  `__q4`.`bidder`,
  `__q4`.`price`,
  `__q4`.`channel`,
  `__q4`.`date_time`,
  `__v5`.`id` AS `id`,
  `__v5`.`name` AS `name`,
  `__v5`.`country` AS `country`,
  `__q4`.`__proctime`
FROM (
  SELECT
    `auction`,
    `bidder`,
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
  WHERE
    `price` > 5
) AS `__q4`
LEFT JOIN `sellers__versions` FOR SYSTEM_TIME AS OF `__q4`.`date_time` AS `__v5`
  ON `__v5`.`id` = `__q4`.`bidder`;
