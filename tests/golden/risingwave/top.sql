CREATE SOURCE bids (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  date_time TIMESTAMP,
  WATERMARK FOR date_time AS date_time - INTERVAL '5 SECOND'
)
WITH (
  connector = 'kafka',
  topic = 'bids',
  properties.bootstrap.server = 'b:9092'
) FORMAT PLAIN ENCODE JSON;

CREATE SOURCE auctions (
  id BIGINT,
  seller BIGINT,
  category VARCHAR,
  date_time TIMESTAMP,
  WATERMARK FOR date_time AS date_time - INTERVAL '5 SECOND'
)
WITH (
  connector = 'kafka',
  topic = 'auctions',
  properties.bootstrap.server = 'b:9092'
) FORMAT PLAIN ENCODE JSON;

CREATE SOURCE clicks (
  user_id BIGINT,
  url VARCHAR,
  ts TIMESTAMP
)
WITH (
  connector = 'kafka',
  topic = 'clicks',
  properties.bootstrap.server = 'b:9092'
) FORMAT PLAIN ENCODE JSON;

CREATE TABLE sellers (
  id BIGINT,
  name VARCHAR,
  country VARCHAR,
  PRIMARY KEY (id)
)
WITH (
  connector = 'kafka',
  topic = 'sellers',
  properties.bootstrap.server = 'b:9092'
) FORMAT PLAIN ENCODE JSON;

CREATE MATERIALIZED VIEW best AS
SELECT
  auction,
  bidder,
  price,
  channel,
  date_time
FROM (
  SELECT
    auction,
    bidder,
    price,
    channel,
    date_time,
    ROW_NUMBER() OVER (
      PARTITION BY auction
      ORDER BY price DESC NULLS LAST, auction, bidder, price, channel, date_time
    ) AS _rn1
  FROM bids
) AS _q1
WHERE
  _rn1 <= 3;

CREATE MATERIALIZED VIEW cheapest AS
SELECT
  auction,
  bidder,
  price,
  channel,
  date_time
FROM bids
ORDER BY
  price,
  auction,
  bidder,
  price,
  channel,
  date_time
LIMIT 2;

CREATE MATERIALIZED VIEW busiest AS
SELECT
  auction,
  COUNT(*) AS n
FROM bids
GROUP BY
  auction
ORDER BY
  COUNT(*) DESC NULLS LAST,
  auction,
  COUNT(*)
LIMIT 1;