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
  posix_fs.root = '/srv/flowc/examples/changes',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE MATERIALIZED VIEW by_channel AS
SELECT
  channel,
  COUNT(*) AS bids,
  MAX(price) AS top,
  MIN(price) AS low
FROM bids
GROUP BY
  channel;

CREATE SINK by_channel_sink FROM by_channel
WITH (
  connector = 'kafka',
  topic = 'by_channel',
  properties.bootstrap.server = 'localhost:9092',
  primary_key = 'channel'
) FORMAT DEBEZIUM ENCODE JSON;