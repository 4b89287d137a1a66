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
  posix_fs.root = '/srv/flowc/examples/session',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE MATERIALIZED VIEW visits AS
SELECT
  bidder,
  window_start,
  window_end,
  bids,
  spent
FROM (
  SELECT
    bidder,
    FIRST_VALUE(date_time) OVER (PARTITION BY bidder ORDER BY date_time SESSION WITH GAP INTERVAL '3 SECOND') AS window_start,
    LAST_VALUE(date_time) OVER (PARTITION BY bidder ORDER BY date_time SESSION WITH GAP INTERVAL '3 SECOND') + INTERVAL '3 SECOND' AS window_end,
    COUNT(*) OVER (PARTITION BY bidder ORDER BY date_time SESSION WITH GAP INTERVAL '3 SECOND') AS bids,
    SUM(price) OVER (PARTITION BY bidder ORDER BY date_time SESSION WITH GAP INTERVAL '3 SECOND') AS spent
  FROM bids
) AS _q1
GROUP BY
  bidder,
  window_start,
  window_end,
  bids,
  spent
EMIT ON WINDOW CLOSE;

CREATE SINK visits_sink FROM visits
WITH (
  connector = 'fs',
  fs.path = '/srv/flowc/examples/session/out/visits',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;