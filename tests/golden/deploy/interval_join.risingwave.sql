-- flowc deploy plan: 'demo' on risingwave in schema demo, program sha256:aadae1c0f6113450
-- 0 to drop, 4 to create, 0 unchanged
-- note: 'bids' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: 'auctions' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: the sink of 'bids_in_auction' writes local files (connector 'fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: source 'bids': RisingWave advances the watermark once per chunk of rows, so a row late by less than one chunk may be kept where flowc drops it
-- note: source 'bids': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'bids': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: source 'auctions': RisingWave advances the watermark once per chunk of rows, so a row late by less than one chunk may be kept where flowc drops it
-- note: source 'auctions': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'auctions': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: sink of 'bids_in_auction': RisingWave writes the rows as several JSON files inside the directory /data/interval_join/out/bids_in_auction, not as the single file /data/interval_join/out/bids_in_auction.jsonl

CREATE SCHEMA IF NOT EXISTS "demo";
SET search_path TO "demo";

-- [1/4] create source bids: new
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
  posix_fs.root = '/data/interval_join',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [2/4] create source auctions: new
CREATE SOURCE auctions (
  id BIGINT,
  seller BIGINT,
  category VARCHAR,
  date_time TIMESTAMP,
  WATERMARK FOR date_time AS date_time - INTERVAL '5 SECOND'
)
WITH (
  connector = 'posix_fs',
  posix_fs.root = '/data/interval_join',
  match_pattern = 'auctions.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [3/4] create materialized view bids_in_auction: new
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

-- [4/4] create sink bids_in_auction_sink: new
CREATE SINK bids_in_auction_sink FROM bids_in_auction
WITH (
  connector = 'fs',
  fs.path = '/data/interval_join/out/bids_in_auction',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;
