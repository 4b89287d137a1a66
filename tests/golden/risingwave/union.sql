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

CREATE MATERIALIZED VIEW times AS
SELECT
  key,
  date_time
FROM (
  SELECT
    auction AS key,
    date_time
  FROM bids
  UNION ALL
  SELECT
    id AS key,
    date_time
  FROM auctions
) AS _q1;

CREATE MATERIALIZED VIEW per_key AS
SELECT
  key,
  window_start,
  window_end,
  COUNT(*) AS n
FROM TUMBLE(times, date_time, INTERVAL '1 MINUTE')
GROUP BY
  key,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;