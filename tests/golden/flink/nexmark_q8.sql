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

CREATE TEMPORARY VIEW `new_people` AS
WITH `new_people__w3` AS (
  SELECT
    `id`,
    `name`,
    `date_time`
  FROM (
    SELECT
      `id`,
      `name`,
      `date_time`,
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
    ) AS `__q1`
  ) AS `__q2`
)
SELECT
  `id`,
  `name`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `n`,
  `window_time` AS `__wt4`
FROM TABLE(TUMBLE(TABLE `new_people__w3`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND))
GROUP BY
  `id`,
  `name`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `sellers` AS
WITH `sellers__w3` AS (
  SELECT
    `seller`,
    `date_time`
  FROM (
    SELECT
      `date_time`,
      `seller`,
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
  ) AS `__q2`
)
SELECT
  `seller`,
  `window_start`,
  `window_end`,
  COUNT(*) AS `n`,
  `window_time` AS `__wt4`
FROM TABLE(TUMBLE(TABLE `sellers__w3`, DESCRIPTOR(`date_time`), INTERVAL '10' SECOND))
GROUP BY
  `seller`,
  `window_start`,
  `window_end`,
  `window_time`;

CREATE TEMPORARY VIEW `q8` AS
SELECT
  `id`,
  `name`,
  `window_start` AS `starttime`
FROM (
  SELECT
    `id`,
    `name`,
    `window_start`,
    `window_end`,
    `n`,
    `seller`,
    `a_window_start`,
    `a_window_end`,
    `a_n`,
    `__wt4`,
    `__r3`
  FROM (
    SELECT
      `id`,
      `name`,
      `window_start`,
      `window_end`,
      `n`,
      `__wt4`
    FROM (
      SELECT
        `id`,
        `name`,
        `window_start`,
        `window_end`,
        `n`,
        `__wt4`
      FROM `new_people`
    ) AS `__q1`
  ) AS `__q6`
  INNER JOIN (
    SELECT
      `seller`,
      `window_start` AS `a_window_start`,
      `window_end` AS `a_window_end`,
      `n` AS `a_n`,
      `__wt4` AS `__r3`
    FROM (
      SELECT
        `seller`,
        `window_start`,
        `window_end`,
        `n`,
        `__wt4`
      FROM (
        SELECT
          `seller`,
          `window_start`,
          `window_end`,
          `n`,
          `__wt4`
        FROM `sellers`
      ) AS `__q2`
    ) AS `__q4`
  ) AS `__r5`
    ON (
      (
        `id` = `seller`
      ) AND (
        `window_start` = `a_window_start`
      )
    )
    AND (
      `window_end` = `a_window_end`
    )
) AS `__q7`;
