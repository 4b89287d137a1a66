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
  posix_fs.root = '/srv/flowc/examples/hop',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE MATERIALIZED VIEW per_channel AS
SELECT
  channel,
  window_start,
  window_end,
  COUNT(*) AS n,
  SUM(price) AS total
FROM HOP(bids, date_time, INTERVAL '5 SECOND', INTERVAL '10 SECOND')
GROUP BY
  channel,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;

CREATE SINK per_channel_sink FROM per_channel
WITH (
  connector = 'fs',
  fs.path = '/srv/flowc/examples/hop/out/per_channel',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;