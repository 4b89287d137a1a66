CREATE TABLE `auction__raw` (
  `id` BIGINT,
  `seller` BIGINT,
  `category` BIGINT,
  `date_time` TIMESTAMP(3),
  `__proctime` AS PROCTIME(),
  `__rowtime` AS COALESCE(`date_time`, CAST(CAST('0001-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP(3))),
  WATERMARK FOR `__rowtime` AS `__rowtime` - INTERVAL '2.001' SECOND
)

WITH (
  'connector' = 'nexmark'
);

CREATE TEMPORARY VIEW `auction` AS
SELECT
  `id`,
  `seller`,
  `category`,
  `__rowtime` AS `date_time`,
  `__proctime`
FROM `auction__raw`
WHERE
  NOT `date_time` IS NULL
  AND (
    CURRENT_WATERMARK(`__rowtime`) IS NULL
    OR `__rowtime` > CURRENT_WATERMARK(`__rowtime`)
  );

CREATE TABLE `person__raw` (
  `id` BIGINT,
  `name` STRING,
  `city` STRING,
  `state` STRING,
  `date_time` TIMESTAMP(3),
  `__proctime` AS PROCTIME(),
  `__rowtime` AS COALESCE(`date_time`, CAST(CAST('0001-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP(3))),
  WATERMARK FOR `__rowtime` AS `__rowtime` - INTERVAL '2.001' SECOND
)

WITH (
  'connector' = 'nexmark'
);

CREATE TEMPORARY VIEW `person` AS
SELECT
  `id`,
  `name`,
  `city`,
  `state`,
  `__rowtime` AS `date_time`,
  `__proctime`
FROM `person__raw`
WHERE
  NOT `date_time` IS NULL
  AND (
    CURRENT_WATERMARK(`__rowtime`) IS NULL
    OR `__rowtime` > CURRENT_WATERMARK(`__rowtime`)
  );

CREATE TEMPORARY VIEW `q3` AS
SELECT
  `name`,
  `city`,
  `state`,
  `id`
FROM (
  SELECT
    `id`,
    `seller`,
    `category`,
    `date_time`,
    `p_id`,
    `name`,
    `city`,
    `state`,
    `p_date_time`
  FROM (
    SELECT
      `id`,
      `seller`,
      `category`,
      CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`
    FROM (
      SELECT
        `id`,
        `seller`,
        `category`,
        `date_time`,
        `__proctime`
      FROM (
        SELECT
          `id`,
          `seller`,
          `category`,
          `date_time`,
          `__proctime`
        FROM `auction`
      ) AS `__q1`
      WHERE
        `category` = 10
    ) AS `__q3`
  ) AS `__q7`
  INNER JOIN (
    SELECT
      `id` AS `p_id`,
      `name`,
      `city`,
      `state`,
      `date_time` AS `p_date_time`
    FROM (
      SELECT
        `id`,
        `name`,
        `city`,
        `state`,
        CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`
      FROM (
        SELECT
          `id`,
          `name`,
          `city`,
          `state`,
          `date_time`,
          `__proctime`
        FROM (
          SELECT
            `id`,
            `name`,
            `city`,
            `state`,
            `date_time`,
            `__proctime`
          FROM `person`
        ) AS `__q2`
        WHERE
          `state` IN ('OR', 'ID', 'CA')
      ) AS `__q4`
    ) AS `__q5`
  ) AS `__r6`
    ON `seller` = `p_id`
) AS `__q8`;
