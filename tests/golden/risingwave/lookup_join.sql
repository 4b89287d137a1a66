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

CREATE MATERIALIZED VIEW enriched AS
SELECT
  bids.auction AS auction,
  bids.price AS price,
  s.name AS name,
  s.country AS country
FROM bids
JOIN sellers FOR SYSTEM_TIME AS OF PROCTIME() AS s
  ON bids.bidder = s.id;

CREATE MATERIALIZED VIEW maybe AS
SELECT
  bids.auction AS auction,
  bids.bidder AS bidder,
  bids.price AS price,
  bids.channel AS channel,
  bids.date_time AS date_time,
  s.id AS id,
  s.name AS name,
  s.country AS country
FROM bids
LEFT JOIN sellers FOR SYSTEM_TIME AS OF PROCTIME() AS s
  ON s.id = bids.bidder
WHERE
  bids.price > 5;