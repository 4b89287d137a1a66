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
  posix_fs.root = '/srv/flowc/examples/interval_join',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE SOURCE auctions (
  id BIGINT,
  seller BIGINT,
  category VARCHAR,
  date_time TIMESTAMP,
  WATERMARK FOR date_time AS date_time - INTERVAL '5 SECOND'
)
WITH (
  connector = 'posix_fs',
  posix_fs.root = '/srv/flowc/examples/interval_join',
  match_pattern = 'auctions.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

CREATE MATERIALIZED VIEW bids_in_auction AS
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
JOIN auctions AS a
  ON bids.auction = a.id
  AND bids.date_time BETWEEN a.date_time AND a.date_time + INTERVAL '10 SECOND';

CREATE SINK bids_in_auction_sink FROM bids_in_auction
WITH (
  connector = 'fs',
  fs.path = '/srv/flowc/examples/interval_join/out/bids_in_auction',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;