CREATE TABLE `auction__raw` (
  `id` BIGINT,
  `item_name` STRING,
  `description` STRING,
  `initial_bid` BIGINT,
  `reserve` BIGINT,
  `date_time` TIMESTAMP(3),
  `expires` TIMESTAMP(6),
  `seller` BIGINT,
  `category` BIGINT,
  `extra` STRING,
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
  `item_name`,
  `description`,
  `initial_bid`,
  `reserve`,
  `__rowtime` AS `date_time`,
  `expires`,
  `seller`,
  `category`,
  `extra`,
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
  `email_address` STRING,
  `credit_card` STRING,
  `city` STRING,
  `state` STRING,
  `date_time` TIMESTAMP(3),
  `extra` STRING,
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
  `email_address`,
  `credit_card`,
  `city`,
  `state`,
  `__rowtime` AS `date_time`,
  `extra`,
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
    `item_name`,
    `description`,
    `initial_bid`,
    `reserve`,
    `date_time`,
    `expires`,
    `seller`,
    `category`,
    `extra`,
    `p_id`,
    `name`,
    `email_address`,
    `credit_card`,
    `city`,
    `state`,
    `p_date_time`,
    `p_extra`
  FROM (
    SELECT
      `id`,
      `item_name`,
      `description`,
      `initial_bid`,
      `reserve`,
      CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`,
      `expires`,
      `seller`,
      `category`,
      `extra`
    FROM (
      SELECT
        `id`,
        `item_name`,
        `description`,
        `initial_bid`,
        `reserve`,
        `date_time`,
        `expires`,
        `seller`,
        `category`,
        `extra`,
        `__proctime`
      FROM (
        SELECT
          `id`,
          `item_name`,
          `description`,
          `initial_bid`,
          `reserve`,
          `date_time`,
          `expires`,
          `seller`,
          `category`,
          `extra`,
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
      `email_address`,
      `credit_card`,
      `city`,
      `state`,
      `date_time` AS `p_date_time`,
      `extra` AS `p_extra`
    FROM (
      SELECT
        `id`,
        `name`,
        `email_address`,
        `credit_card`,
        `city`,
        `state`,
        CAST(`date_time` AS TIMESTAMP(3)) AS `date_time`,
        `extra`
      FROM (
        SELECT
          `id`,
          `name`,
          `email_address`,
          `credit_card`,
          `city`,
          `state`,
          `date_time`,
          `extra`,
          `__proctime`
        FROM (
          SELECT
            `id`,
            `name`,
            `email_address`,
            `credit_card`,
            `city`,
            `state`,
            `date_time`,
            `extra`,
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
