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

CREATE MATERIALIZED VIEW lij AS
SELECT
  bids.auction AS auction,
  bids.bidder AS bidder,
  bids.price AS price,
  bids.channel AS channel,
  bids.date_time AS date_time,
  a.id AS id,
  a.seller AS seller,
  a.category AS category,
  a.date_time AS a_date_time
FROM bids
LEFT JOIN auctions AS a
  ON bids.auction = a.id
  AND bids.date_time BETWEEN a.date_time AND a.date_time + INTERVAL '10 SECOND';