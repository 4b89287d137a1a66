CREATE SOURCE bids (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  date_time TIMESTAMP
)
WITH (
  connector = 'posix_fs',
  posix_fs.root = '/srv/flowc/examples/filter_project',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE MATERIALIZED VIEW big AS
SELECT
  auction,
  bidder,
  price * 100 AS price_cents,
  date_time
FROM bids
WHERE
  price > 30 AND channel <> 'partner';

CREATE SINK big_sink FROM big
WITH (
  connector = 'fs',
  fs.path = '/srv/flowc/examples/filter_project/out/big',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;