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

CREATE MATERIALIZED VIEW bid_windows AS
SELECT
  auction,
  bidder,
  price,
  channel,
  date_time,
  window_start,
  window_end
FROM TUMBLE(bids, date_time, INTERVAL '10 SECOND');

CREATE MATERIALIZED VIEW auction_windows AS
SELECT
  id,
  seller,
  category,
  date_time,
  window_start,
  window_end
FROM TUMBLE(auctions, date_time, INTERVAL '10 SECOND');

CREATE MATERIALIZED VIEW joined AS
SELECT
  bid_windows.auction AS auction,
  bid_windows.bidder AS bidder,
  bid_windows.price AS price,
  bid_windows.channel AS channel,
  bid_windows.date_time AS date_time,
  bid_windows.window_start AS window_start,
  bid_windows.window_end AS window_end,
  a.id AS id,
  a.seller AS seller,
  a.category AS category,
  a.date_time AS a_date_time,
  a.window_start AS a_window_start,
  a.window_end AS a_window_end
FROM bid_windows
JOIN auction_windows AS a
  ON bid_windows.auction = a.id AND bid_windows.window_start = a.window_start
EMIT ON WINDOW CLOSE;

CREATE MATERIALIZED VIEW counts AS
SELECT
  auction,
  window_start,
  window_end,
  COUNT(*) AS n
FROM HOP(bids, date_time, INTERVAL '5 SECOND', INTERVAL '10 SECOND')
GROUP BY
  auction,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;

CREATE MATERIALIZED VIEW seller_counts AS
SELECT
  id,
  window_start,
  window_end,
  COUNT(*) AS m
FROM HOP(auctions, date_time, INTERVAL '5 SECOND', INTERVAL '10 SECOND')
GROUP BY
  id,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;

CREATE MATERIALIZED VIEW per_window AS
SELECT
  counts.auction AS auction,
  counts.window_start AS window_start,
  counts.window_end AS window_end,
  counts.n AS n,
  s.id AS id,
  s.window_start AS s_window_start,
  s.window_end AS s_window_end,
  s.m AS m
FROM counts
LEFT JOIN seller_counts AS s
  ON counts.auction = s.id AND counts.window_start = s.window_start
EMIT ON WINDOW CLOSE;

CREATE MATERIALIZED VIEW inline AS
SELECT
  _l1.auction AS auction,
  _l1.bidder AS bidder,
  _l1.price AS price,
  _l1.channel AS channel,
  _l1.date_time AS date_time,
  _l1.window_start AS window_start,
  _l1.window_end AS window_end,
  a.id AS id,
  a.seller AS seller,
  a.category AS category,
  a.date_time AS a_date_time,
  a.window_start AS a_window_start,
  a.window_end AS a_window_end
FROM (
  SELECT
    auction,
    bidder,
    price,
    channel,
    date_time,
    window_start,
    window_end
  FROM TUMBLE(bids, date_time, INTERVAL '10 SECOND')
) AS _l1
JOIN (
  SELECT
    id,
    seller,
    category,
    date_time,
    window_start,
    window_end
  FROM TUMBLE(auctions, date_time, INTERVAL '10 SECOND')
) AS a
  ON _l1.auction = a.id AND _l1.window_start = a.window_start
EMIT ON WINDOW CLOSE;