CREATE SOURCE bids (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  date_time TIMESTAMP,
  WATERMARK FOR date_time AS date_time - INTERVAL '5 SECOND'
)
WITH (
  connector = 'posix_fs',
  posix_fs.root = '/srv/flowc/examples/tumble',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE MATERIALIZED VIEW hot_items AS
SELECT
  auction,
  window_start,
  window_end,
  COUNT(*) AS bids,
  MAX(price) AS top_price
FROM TUMBLE(bids, date_time, INTERVAL '10 SECOND')
WHERE
  price > 10
GROUP BY
  auction,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;

CREATE SINK hot_items_sink FROM hot_items
WITH (
  connector = 'fs',
  fs.path = '/srv/flowc/examples/tumble/out/hot_items',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;