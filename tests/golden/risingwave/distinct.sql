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

CREATE MATERIALIZED VIEW first_bid AS
SELECT DISTINCT ON (auction)
  auction,
  bidder,
  price,
  channel,
  date_time
FROM bids;

CREATE MATERIALIZED VIEW first_channel AS
SELECT DISTINCT ON (auction, channel)
  auction,
  channel,
  date_time
FROM bids
WHERE
  price > 1;