-- flowc deploy plan: 'demo' on risingwave in schema demo, program sha256:ae54c2840cf734f7
-- 0 to drop, 3 to create, 0 unchanged
-- note: 'bids' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: the sink of 'visits' writes local files (connector 'fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: view 'visits': RisingWave's watermark moves only with later rows, so the last windows of the file source 'bids' never close there and are missing from the output (flowc closes them at end of input)
-- note: source 'bids': RisingWave advances the watermark once per chunk of rows, so a row late by less than one chunk may be kept where flowc drops it
-- note: source 'bids': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'bids': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: view 'visits': RisingWave closes a key's last session only when a later row of that key arrives (SESSION WITH GAP under EMIT ON WINDOW CLOSE ignores the watermark), so the last session of each key stays open: it is missing from the output until that key has another row
-- note: view 'visits': RisingWave keeps one row per session ever closed to deduplicate them (the deduplication has no watermark to clean its state by), so its state grows with the sessions
-- note: sink of 'visits': RisingWave writes the rows as several JSON files inside the directory /data/session/out/visits, not as the single file /data/session/out/visits.jsonl

CREATE SCHEMA IF NOT EXISTS "demo";
SET search_path TO "demo";

-- [1/3] create source bids: new
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
  posix_fs.root = '/data/session',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [2/3] create materialized view visits: new
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

-- [3/3] create sink visits_sink: new
CREATE SINK visits_sink FROM visits
WITH (
  connector = 'fs',
  fs.path = '/data/session/out/visits',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;
