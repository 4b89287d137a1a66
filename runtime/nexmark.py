"""The Nexmark generator: Person, Auction and Bid streams as Arrow batches, vectorized with numpy.

It follows the standard generator (Beam's `sdk.nexmark.sources.generator` and its Flink port
`nexmark-flink`), with its default `NexmarkConfiguration`:

Exactly as the standard generator (same formulas, same constants):
- event numbers n = 0, 1, ...; event id = n; n % 50 picks the kind: 0 person, 1-3 auction, 4-49 bid
  (proportions 1 : 3 : 46);
- ids: person id = lastBase0PersonId(n) + 1000, auction id = lastBase0AuctionId(n) + 1000;
- a bid's auction is, with probability 1 - 1/hotAuctionRatio (ratio 2), the first of the last batch
  of 100 auctions, otherwise a random one of the last numInFlightAuctions (100) plus a lead of 10;
  its bidder is, with probability 1 - 1/hotBiddersRatio (4), the second of the last batch of 100
  people, otherwise a random one of the last numActivePeople (1000) plus a lead of 10; an auction's
  seller likewise (hotSellersRatio 4, the first of the batch); category 10 + [0, 5);
- prices round(10^(6u) * 100); reserve = initial_bid + a price; expires = date_time + 1 +
  [0, 2 * horizon) ms, horizon being the time until numInFlightAuctions more auctions exist;
- event time = baseTime + (n * interEventDelayUs) / 1000 in whole milliseconds, interEventDelayUs
  = 1e6 / rate (rate 10 000 events/s when `rate = 0`); baseTime is Beam's 2015-07-15T00:00:00Z;
- channels/urls as nexmark-flink: with probability 1/2 one of 4 hot channels (Google, Facebook,
  Baidu, Apple) with their url, otherwise `channel-N`, N in [0, 10 000), whose url carries
  `&channel_id=abs(Integer.reverse(N))` 9 times in 10;
- strings: names, emails, credit cards, cities, states, item names and descriptions have the
  standard shapes, alphabets and length distributions; `extra` pads each record to the standard
  average size (person 200, auction 500, bid 100 bytes) with the standard +-20% spread. Its bytes
  are filler (slices of one random buffer per seed); with `max_delay` they are attached after the
  reordering, so they follow the arrival position, and a shorter run's last rows may get others.

Simplified or different:
- randomness: Java's per-event `Random` (Beam seeds it with the event id; nexmark-flink does not seed
  it at all) is replaced by numpy PCG64 streams keyed by (seed, kind, chunk of 100 000 events,
  field). Same distributions, other values; the same `seed` gives the same events everywhere, and
  `events = N` is a prefix of `events = M > N`. Each url is random per seed (nexmark-flink draws
  them per JVM);
- nexmark-flink adds FIRST_PERSON_ID twice to a bid's bidder (a bug); we add it once, as Beam does;
- out-of-orderness: Beam holds back a fraction probDelayedEvent (0.1) of events by up to
  occasionalDelaySec. Here, with `max_delay > 0`, one event in 10 arrives [1us, max_delay] after
  its event time (its date_time is unchanged): rows come out ordered by (arrival, n), so a source
  watermark of at least `max_delay` sees no late row. outOfOrderGroupSize is 1 (the default);
- one generator (numEventGenerators = 1); `rate` > 0 also paces the output in real time, batch by
  batch (each batch is released when its last row is due).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .io import rebatch

# ---------------------------------------------------------------- the standard constants

PERSON_PROPORTION, AUCTION_PROPORTION, BID_PROPORTION = 1, 3, 46
TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION  # 50
FIRST_PERSON_ID = 1000
FIRST_AUCTION_ID = 1000
FIRST_CATEGORY_ID = 10
NUM_CATEGORIES = 5
PERSON_ID_LEAD = 10
AUCTION_ID_LEAD = 10
HOT_RATIO_BATCH = 100  # HOT_AUCTION_RATIO / HOT_BIDDER_RATIO / HOT_SELLER_RATIO in the model classes
HOT_CHANNELS = ("Google", "Facebook", "Baidu", "Apple")
CHANNELS_NUMBER = 10_000
US_STATES = ("AZ", "CA", "ID", "OR", "WA", "WY")
US_CITIES = ("Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle",
             "Kent", "Cheyenne")
FIRST_NAMES = ("Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter")
LAST_NAMES = ("Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris")
BASE_TIME_MS = 1_436_918_400_000  # 2015-07-15T00:00:00Z, Beam's NexmarkUtils.BASE_TIME
DEFAULT_RATE = 10_000  # NexmarkConfiguration.firstEventRate
DEFAULT_EVENTS = 100_000  # NexmarkConfiguration.numEvents
PROB_DELAYED_EVENT = 0.1

CHUNK_EVENTS = 2_000 * TOTAL_PROPORTION  # events generated together; fixed, so batch size never matters

_TS = pa.timestamp("us")
COLUMNS: dict[str, pa.Schema] = {
    "person": pa.schema([("id", pa.int64()), ("name", pa.string()), ("email_address", pa.string()),
                         ("credit_card", pa.string()), ("city", pa.string()), ("state", pa.string()),
                         ("date_time", _TS), ("extra", pa.string())]),
    "auction": pa.schema([("id", pa.int64()), ("item_name", pa.string()), ("description", pa.string()),
                          ("initial_bid", pa.int64()), ("reserve", pa.int64()), ("date_time", _TS),
                          ("expires", _TS), ("seller", pa.int64()), ("category", pa.int64()),
                          ("extra", pa.string())]),
    "bid": pa.schema([("auction", pa.int64()), ("bidder", pa.int64()), ("price", pa.int64()),
                      ("channel", pa.string()), ("url", pa.string()), ("date_time", _TS), ("extra", pa.string())]),
}
TABLES = tuple(COLUMNS)
_KIND_OFFSETS = {"person": (0, PERSON_PROPORTION),
                 "auction": (PERSON_PROPORTION, PERSON_PROPORTION + AUCTION_PROPORTION),
                 "bid": (PERSON_PROPORTION + AUCTION_PROPORTION, TOTAL_PROPORTION)}
_KIND_CODE = {"person": 0, "auction": 1, "bid": 2}


@dataclass(frozen=True)
class NexmarkConfig:
    """The generator's knobs: the connector's arguments plus NexmarkConfiguration's defaults."""

    events: int = DEFAULT_EVENTS  # events of all three kinds; a table gets its share
    seed: int = 0
    rate: float = 0.0  # events/s of all kinds; 0: as fast as possible (event time at DEFAULT_RATE)
    max_delay: int = 0  # microseconds of bounded out-of-orderness; 0: in event-time order
    hot_auction_ratio: int = 2
    hot_sellers_ratio: int = 4
    hot_bidders_ratio: int = 4
    num_in_flight_auctions: int = 100
    num_active_people: int = 1000
    avg_person_byte_size: int = 200
    avg_auction_byte_size: int = 500
    avg_bid_byte_size: int = 100

    def __post_init__(self):
        if self.events < 0:
            raise ValueError("events must be >= 0")
        if self.rate < 0:
            raise ValueError("rate must be >= 0")
        if self.max_delay < 0:
            raise ValueError("max_delay must be >= 0")

    @property
    def inter_event_delay_us(self) -> float:
        return 1e6 / (self.rate if self.rate > 0 else DEFAULT_RATE)


# ---------------------------------------------------------------- ids and times (vectorized Beam formulas)


def event_time_ms(n: np.ndarray, cfg: NexmarkConfig) -> np.ndarray:
    """GeneratorConfig.timestampForEvent: baseTime + (long)(n * interEventDelayUs) / 1000."""
    return BASE_TIME_MS + (n.astype(np.float64) * cfg.inter_event_delay_us).astype(np.int64) // 1000


def last_base0_person_id(n: np.ndarray) -> np.ndarray:
    epoch, offset = np.divmod(n, TOTAL_PROPORTION)
    offset = np.minimum(offset, PERSON_PROPORTION - 1)
    return epoch * PERSON_PROPORTION + offset


def last_base0_auction_id(n: np.ndarray) -> np.ndarray:
    epoch, offset = np.divmod(n, TOTAL_PROPORTION)
    person = offset < PERSON_PROPORTION
    bid = offset >= PERSON_PROPORTION + AUCTION_PROPORTION
    epoch = np.where(person, epoch - 1, epoch)
    offset = np.where(person | bid, AUCTION_PROPORTION - 1, offset - PERSON_PROPORTION)
    return epoch * AUCTION_PROPORTION + offset


def _below(u: np.ndarray, bound: np.ndarray | int) -> np.ndarray:
    """LongGenerator.nextLong(random, bound): uniform in [0, bound), from uniforms u in [0, 1)."""
    return np.minimum((u * bound).astype(np.int64), np.asarray(bound, dtype=np.int64) - 1)


def next_base0_person_id(n: np.ndarray, u: np.ndarray, cfg: NexmarkConfig,
                         last: np.ndarray | None = None) -> np.ndarray:
    num_people = (last_base0_person_id(n) if last is None else last) + 1
    active = np.minimum(num_people, cfg.num_active_people)
    return num_people - active + _below(u, active + PERSON_ID_LEAD)


def next_base0_auction_id(n: np.ndarray, u: np.ndarray, cfg: NexmarkConfig,
                          last: np.ndarray | None = None) -> np.ndarray:
    last = last_base0_auction_id(n) if last is None else last
    lo = np.maximum(last - cfg.num_in_flight_auctions, 0)
    return lo + _below(u, last - lo + 1 + AUCTION_ID_LEAD)


def next_price(u: np.ndarray) -> np.ndarray:
    """PriceGenerator.nextPrice: Math.round(10^(u*6) * 100) (Java rounds half up)."""
    return np.floor(np.power(10.0, u * 6.0) * 100.0 + 0.5).astype(np.int64)


# ---------------------------------------------------------------- strings, vectorized


def _strings(lengths: np.ndarray, chars: np.ndarray) -> pa.Array:
    """A string array from per-row lengths and the concatenated ASCII bytes."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(chars))


def exact_strings(rng: np.random.Generator, lengths: np.ndarray) -> pa.Array:
    """StringsGenerator.nextExactString: lowercase letters."""
    # random bytes mod 26, like nextExactString's `rnd % 26` (a bias below 1%), 5x faster than integers()
    chars = np.frombuffer(rng.bytes(int(lengths.sum())), dtype=np.uint8) % np.uint8(26) + np.uint8(ord("a"))
    return _strings(lengths, chars)


def random_strings(rng: np.random.Generator, n: int, max_length: int, space: str = " ") -> pa.Array:
    """StringsGenerator.nextString: 3 + [0, max-3) characters, each a letter or (1 in 13) `space`,
    trimmed of the space character at both ends."""
    lengths = 3 + rng.integers(0, max_length - 3, n)
    total = int(lengths.sum())
    chars = rng.integers(ord("a"), ord("z") + 1, total, dtype=np.uint8)
    chars[rng.integers(0, 13, total) == 0] = ord(space)
    return pc.utf8_trim(_strings(lengths, chars), characters=space)


_FILLER_BYTES = 1 << 24  # > the largest chunk's extra bytes (46 * 2000 bids * 120 bytes = 11 MB)
_fillers: dict[int, pa.Buffer] = {}


def _filler(seed: int) -> pa.Buffer:
    """Lowercase letters shared by every `extra` of a seed (made once per process)."""
    if seed not in _fillers:
        rng = _rng(seed, 4, 0, 0)
        letters = np.frombuffer(rng.bytes(_FILLER_BYTES), dtype=np.uint8) % np.uint8(26) + np.uint8(ord("a"))
        _fillers.clear()  # one seed at a time: 16 MiB each
        _fillers[seed] = pa.py_buffer(letters)
    return _fillers[seed]


def extra_strings(rng: np.random.Generator, current_size: np.ndarray | int, average: int, n: int,
                  seed: int = 0) -> pa.Array:
    """StringsGenerator.nextExtra: pad the record to `average` bytes on average, +-20%.

    `extra` is filler (no query reads its content): its bytes are a zero-copy slice, at a random
    offset, of one buffer of random letters per seed, so only the lengths are drawn per row. Drawing
    the bytes per row was 70% of generating a bid."""
    return filler_strings(extra_sizes(rng, current_size, average, n), rng, seed)


def extra_sizes(rng: np.random.Generator, current_size: np.ndarray | int, average: int, n: int) -> np.ndarray:
    """The lengths of nextExtra's strings (see extra_strings)."""
    desired = average - np.broadcast_to(np.asarray(current_size, dtype=np.int64), (n,))
    delta = np.floor(desired * 0.2 + 0.5).astype(np.int64)
    size = desired - delta + _below(rng.random(n), np.maximum(2 * delta, 1)) * (delta > 0)
    return np.where(desired < 0, 0, size)  # currentSize > desiredAverageSize: ""


def filler_strings(size: np.ndarray, rng: np.random.Generator, seed: int) -> pa.Array:
    """Strings of the given lengths: one zero-copy slice of the seed's filler, at an offset from rng."""
    n = len(size)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(size, out=offsets[1:])
    total = int(offsets[-1])
    pool = _filler(seed)
    if total > pool.size:  # not with the standard sizes; still correct if someone raises them
        return exact_strings(rng, size)
    start = int(rng.integers(0, pool.size - total + 1))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pool.slice(start, total))


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of each value, as an (n, width) uint8 matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def credit_cards(rng: np.random.Generator, n: int) -> pa.Array:
    """PersonGenerator.nextCreditCard: four `%04d` groups separated by spaces."""
    groups = rng.integers(0, 10_000, (n, 4))
    m = np.full((n, 19), ord(" "), dtype=np.uint8)
    for g in range(4):
        m[:, g * 5:g * 5 + 4] = _digits(groups[:, g], 4)
    return _strings(np.full(n, 19), m.ravel())


def _int32_reverse_abs(v: np.ndarray) -> np.ndarray:
    """Math.abs(Integer.reverse(v)) with Java's int arithmetic (abs(MIN_VALUE) stays negative)."""
    u = v.astype(np.uint32)
    r = np.zeros_like(u)
    for bit in range(32):
        r |= ((u >> np.uint32(bit)) & np.uint32(1)) << np.uint32(31 - bit)
    s = r.view(np.int32).astype(np.int64)
    return np.where(s == -(2 ** 31), s, np.abs(s))


def channel_table(seed: int) -> tuple[pa.Array, pa.Array]:
    """(channel, url) for the 4 hot channels (indices 0-3) then `channel-N` (index 4 + N)."""
    rng = _rng(seed, 3, 0, 0)
    k = len(HOT_CHANNELS) + CHANNELS_NUMBER
    parts = [random_strings(rng, k, 5, "_") for _ in range(3)]
    urls = _join("https://www.nexmark.com/", parts[0], "/", parts[1], "/", parts[2], "/item.htm?query=1")
    numbers = np.arange(CHANNELS_NUMBER, dtype=np.int64)
    with_id = np.concatenate([np.zeros(len(HOT_CHANNELS), bool), rng.integers(0, 10, CHANNELS_NUMBER) > 0])
    ids = pa.array(np.concatenate([np.zeros(len(HOT_CHANNELS), np.int64), _int32_reverse_abs(numbers)]))
    urls = pc.if_else(pa.array(with_id), _join(urls, "&channel_id=", ids.cast(pa.string())), urls)
    names = pa.concat_arrays([pa.array(HOT_CHANNELS, pa.string()),
                              _join("channel-", pa.array(numbers).cast(pa.string()))])
    return names, urls


# ---------------------------------------------------------------- one chunk of one kind


def _rng(seed: int, kind: int, chunk: int, field: int) -> np.random.Generator:
    """An independent stream per (seed, kind, chunk, field): a column's values do not depend on
    which other columns are generated."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed & (2 ** 63 - 1), kind, chunk, field])))


class _Chunk:
    """The events of one kind in event numbers [c * CHUNK_EVENTS, (c + 1) * CHUNK_EVENTS): every
    column is drawn for the whole chunk (then cut), so `events = N` is a prefix of larger runs."""

    def __init__(self, table: str, cfg: NexmarkConfig, c: int, channels):
        self.table, self.cfg, self.c, self.channels = table, cfg, c, channels
        lo, hi = _KIND_OFFSETS[table]
        epochs = np.arange(c * CHUNK_EVENTS // TOTAL_PROPORTION, (c + 1) * CHUNK_EVENTS // TOTAL_PROPORTION,
                           dtype=np.int64)
        self.n = (epochs[:, None] * TOTAL_PROPORTION + np.arange(lo, hi, dtype=np.int64)[None, :]).ravel()
        self.size = len(self.n)
        self._cache: dict[str, object] = {}

    def rng(self, field: str) -> np.random.Generator:
        return _rng(self.cfg.seed, _KIND_CODE[self.table], self.c, _FIELD_CODES[field])

    def u(self, field: str) -> np.ndarray:
        return self.rng(field).random(self.size)

    def ts_ms(self) -> np.ndarray:
        if "ts" not in self._cache:
            self._cache["ts"] = event_time_ms(self.n, self.cfg)
        return self._cache["ts"]

    def arrival_us(self) -> np.ndarray:
        ts = self.ts_ms() * 1000
        if self.cfg.max_delay <= 0:
            return ts
        r = self.rng("delay")
        delayed = r.random(self.size) < PROB_DELAYED_EVENT
        return ts + np.where(delayed, 1 + _below(r.random(self.size), self.cfg.max_delay), 0)

    def hot_or(self, field: str, ratio: int, hot: np.ndarray, other, last: np.ndarray) -> np.ndarray:
        r = self.rng(field)
        is_hot = r.integers(0, ratio, self.size) > 0
        return np.where(is_hot, hot, other(self.n, r.random(self.size), self.cfg, last))

    def last_id(self, kind: str) -> np.ndarray:
        """last_base0_{person,auction}_id of every event (cached: the id columns all start from it)."""
        key = f"last_{kind}"
        if key not in self._cache:
            f = last_base0_person_id if kind == "person" else last_base0_auction_id
            self._cache[key] = f(self.n)
        return self._cache[key]

    # -- columns by name (each cached: some feed others, e.g. extra's size)
    def column(self, name: str) -> pa.Array:
        if name not in self._cache:
            self._cache[name] = getattr(self, f"_{self.table}_{name}")()
        return self._cache[name]

    def _time(self, ms: np.ndarray) -> pa.Array:
        return pa.array(ms * 1000, pa.int64()).cast(_TS)

    # person
    def _person_id(self):
        return pa.array(last_base0_person_id(self.n) + FIRST_PERSON_ID)

    def _person_name(self):
        r = self.rng("name")
        first = r.integers(0, len(FIRST_NAMES), self.size)
        last = r.integers(0, len(LAST_NAMES), self.size)
        full = pa.array([f"{a} {b}" for a in FIRST_NAMES for b in LAST_NAMES])  # 99 names, not per row
        return full.take(pa.array(first * len(LAST_NAMES) + last))

    def _person_email_address(self):
        r = self.rng("email")
        return _join(random_strings(r, self.size, 7), "@", random_strings(r, self.size, 5), ".com")

    def _person_credit_card(self):
        return credit_cards(self.rng("credit_card"), self.size)

    def _person_city(self):
        return pa.array(US_CITIES).take(pa.array(self.rng("city").integers(0, len(US_CITIES), self.size)))

    def _person_state(self):
        return pa.array(US_STATES).take(pa.array(self.rng("state").integers(0, len(US_STATES), self.size)))

    def _person_date_time(self):
        return self._time(self.ts_ms())

    def extra_sizes(self) -> tuple[np.ndarray, np.random.Generator]:
        """The lengths of the `extra` column, and the random stream that then places its bytes."""
        if "extra_sizes" not in self._cache:
            r = self.rng("extra")
            if self.table == "person":
                size = 8 + sum(pc.utf8_length(self.column(c)).to_numpy().astype(np.int64)
                               for c in ("name", "email_address", "credit_card", "city", "state"))
                avg = self.cfg.avg_person_byte_size
            elif self.table == "auction":
                size = (8 + pc.utf8_length(self.column("item_name")).to_numpy().astype(np.int64)
                        + pc.utf8_length(self.column("description")).to_numpy().astype(np.int64) + 40)
                avg = self.cfg.avg_auction_byte_size
            else:
                size, avg = 32, self.cfg.avg_bid_byte_size
            self._cache["extra_sizes"] = (extra_sizes(r, size, avg, self.size), r)
        return self._cache["extra_sizes"]

    def _extra(self):
        sizes, r = self.extra_sizes()
        return filler_strings(sizes, r, self.cfg.seed)

    def _person_extra(self):
        return self._extra()

    # auction
    def _auction_id(self):
        return pa.array(last_base0_auction_id(self.n) + FIRST_AUCTION_ID)

    def _auction_item_name(self):
        return random_strings(self.rng("item_name"), self.size, 20)

    def _auction_description(self):
        return random_strings(self.rng("description"), self.size, 100)

    def _initial_bid(self) -> np.ndarray:
        if "initial" not in self._cache:
            self._cache["initial"] = next_price(self.u("initial_bid"))
        return self._cache["initial"]

    def _auction_initial_bid(self):
        return pa.array(self._initial_bid())

    def _auction_reserve(self):
        return pa.array(self._initial_bid() + next_price(self.u("reserve")))

    def _auction_date_time(self):
        return self._time(self.ts_ms())

    def _auction_expires(self):
        # AuctionGenerator.nextAuctionLengthMs: the horizon until numInFlightAuctions more auctions
        ahead = self.cfg.num_in_flight_auctions * TOTAL_PROPORTION // AUCTION_PROPORTION
        horizon = event_time_ms(self.n + ahead, self.cfg) - self.ts_ms()
        length = 1 + _below(self.u("expires"), np.maximum(horizon * 2, 1))
        return self._time(self.ts_ms() + length)

    def _auction_seller(self):
        last = self.last_id("person")
        hot = (last // HOT_RATIO_BATCH) * HOT_RATIO_BATCH
        return pa.array(self.hot_or("seller", self.cfg.hot_sellers_ratio, hot, next_base0_person_id, last)
                        + FIRST_PERSON_ID)

    def _auction_category(self):
        return pa.array(FIRST_CATEGORY_ID + self.rng("category").integers(0, NUM_CATEGORIES, self.size))

    def _auction_extra(self):
        return self._extra()

    # bid
    def _bid_auction(self):
        last = self.last_id("auction")
        hot = (last // HOT_RATIO_BATCH) * HOT_RATIO_BATCH
        return pa.array(self.hot_or("auction", self.cfg.hot_auction_ratio, hot, next_base0_auction_id, last)
                        + FIRST_AUCTION_ID)

    def _bid_bidder(self):
        last = self.last_id("person")
        hot = (last // HOT_RATIO_BATCH) * HOT_RATIO_BATCH + 1
        return pa.array(self.hot_or("bidder", self.cfg.hot_bidders_ratio, hot, next_base0_person_id, last)
                        + FIRST_PERSON_ID)

    def _bid_price(self):
        return pa.array(next_price(self.u("price")))

    def _channel_index(self) -> pa.Array:
        if "channel_index" not in self._cache:
            r = self.rng("channel")
            hot = r.integers(0, 2, self.size) > 0  # HOT_CHANNELS_RATIO = 2
            hot_i = r.integers(0, len(HOT_CHANNELS), self.size)
            other = r.integers(0, CHANNELS_NUMBER, self.size)
            self._cache["channel_index"] = pa.array(np.where(hot, hot_i, len(HOT_CHANNELS) + other))
        return self._cache["channel_index"]

    def _bid_channel(self):
        return self.channels()[0].take(self._channel_index())

    def _bid_url(self):
        return self.channels()[1].take(self._channel_index())

    def _bid_date_time(self):
        return self._time(self.ts_ms())

    def _bid_extra(self):
        return self._extra()


_FIELD_CODES = {name: i for i, name in enumerate(
    ["delay", "name", "email", "credit_card", "city", "state", "extra", "item_name", "description", "initial_bid",
     "reserve", "expires", "seller", "category", "auction", "bidder", "price", "channel"])}


# ---------------------------------------------------------------- the stream


def generate(table: str, cfg: NexmarkConfig, columns: list[str] | None = None,
             batch_size: int = 65_536, pace: bool = True) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `batch_size` rows (the last may be smaller) of `table`'s `columns` (all by
    default, in the given order, with the types of COLUMNS[table]), in arrival order. With
    `cfg.rate > 0` and `pace`, batches are released in real time."""
    if table not in COLUMNS:
        raise ValueError(f"nexmark table must be one of {', '.join(TABLES)}, not {table!r}")
    full = COLUMNS[table]
    columns = list(columns) if columns is not None else full.names
    for c in columns:
        if c not in full.names:
            raise ValueError(f"nexmark table {table!r} has no column {c!r}; its columns: {', '.join(full.names)}")
    schema = pa.schema([full.field(c) for c in columns])
    if cfg.rate > 0 and pace:
        return _paced(table, cfg, columns, schema, batch_size)
    return rebatch(_ordered(table, cfg, columns, schema), batch_size, schema)


_ARRIVAL = "__arrival"


def _ordered(table: str, cfg: NexmarkConfig, columns: list[str], schema: pa.Schema,
             with_arrival: bool = False) -> Iterator[pa.RecordBatch]:
    """Chunks of rows in (arrival, event number) order. With delays, rows wait in `pending` until no
    later event can arrive before them: a future event's arrival is at least its event time, which is
    at least the next chunk's first event time."""
    channels_cache: list = []

    def channels():
        if not channels_cache:
            channels_cache.append(channel_table(cfg.seed))
        return channels_cache[0]

    out_schema = schema.append(pa.field(_ARRIVAL, pa.int64())) if with_arrival else schema
    pending: pa.Table | None = None
    n_chunks = -(-cfg.events // CHUNK_EVENTS)
    for c in range(n_chunks):
        ch = _Chunk(table, cfg, c, channels)
        keep = int(np.searchsorted(ch.n, cfg.events))  # the last chunk is cut at `events`
        if keep == 0:
            continue
        arrival = ch.arrival_us()[:keep]
        if cfg.max_delay <= 0 and not with_arrival:
            arrays = [ch.column(name).slice(0, keep) for name in columns]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            continue
        # `extra` travels as its lengths while rows are reordered (taking its strings was a quarter of
        # generating a bid); its filler bytes are placed once the order is known (_sorted_batches)
        extra_rng = None
        arrays = []
        for name in columns:
            if name == _EXTRA:
                sizes, extra_rng = ch.extra_sizes()
                arrays.append(pa.array(sizes[:keep], pa.int32()))
            else:
                arrays.append(ch.column(name).slice(0, keep))
        piece = pa.Table.from_arrays(arrays + [pa.array(arrival)], names=columns + [_ARRIVAL])
        piece_n = ch.n[:keep]
        if pending is None:
            t, arr, n = piece, arrival, piece_n
        else:
            t = pa.concat_tables([pending[0], piece])
            arr, n = np.concatenate([pending[1], arrival]), np.concatenate([pending[2], piece_n])
        if cfg.max_delay <= 0:
            due = np.ones(len(arr), dtype=bool)
        else:
            horizon = int(event_time_ms(np.array([(c + 1) * CHUNK_EVENTS]), cfg)[0]) * 1000
            due = arr <= horizon
        # one take per chunk in (arrival, n) order (numpy decides which and in what order; the rows,
        # strings included, are copied once), plus the few rows still pending
        ready = np.flatnonzero(due)
        # t is in event-number order (pending rows are from earlier chunks), so a stable sort on the
        # arrival alone is the (arrival, n) order, at half a lexsort's cost
        yield from _sorted_batches(t, ready[np.argsort(arr[ready], kind="stable")], out_schema, extra_rng, cfg.seed)
        wait = np.flatnonzero(~due)
        pending = (t.take(pa.array(wait)), arr[wait], n[wait]) if len(wait) else None
    if pending is not None:
        last = _rng(cfg.seed, _KIND_CODE[table], n_chunks, _FIELD_CODES["extra"])
        yield from _sorted_batches(pending[0], np.argsort(pending[1], kind="stable"), out_schema, last, cfg.seed)


_EXTRA = "extra"


def _sorted_batches(t: pa.Table, order: np.ndarray, schema: pa.Schema, extra_rng: np.random.Generator | None,
                    seed: int) -> Iterator[pa.RecordBatch]:
    """The rows of t in `order`; an `extra` held as lengths becomes filler strings of those lengths."""
    if len(order) == 0:
        return
    t = t.select(schema.names)
    if not (len(order) == t.num_rows and (np.diff(order) == 1).all()):
        t = t.take(pa.array(order))
    t = t.combine_chunks()
    if _EXTRA in schema.names and pa.types.is_integer(t.schema.field(_EXTRA).type):
        i = t.schema.get_field_index(_EXTRA)
        sizes = t.column(i).to_numpy().astype(np.int64)
        t = t.set_column(i, _EXTRA, filler_strings(sizes, extra_rng, seed))
    yield from t.cast(schema).to_batches()


def _paced(table: str, cfg: NexmarkConfig, columns: list[str], schema: pa.Schema,
           batch_size: int) -> Iterator[pa.RecordBatch]:
    """Real-time pacing: a batch is released when its last row is due, i.e. when as much wall time
    has passed since the start as event time since the first event (plus the row's delay)."""
    with_arrival = schema.append(pa.field(_ARRIVAL, pa.int64()))
    start = time.monotonic()
    base = BASE_TIME_MS * 1000
    for b in rebatch(_ordered(table, cfg, columns, schema, with_arrival=True), batch_size, with_arrival):
        wait = start + (b.column(_ARRIVAL)[b.num_rows - 1].as_py() - base) / 1e6 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield pa.RecordBatch.from_arrays(b.columns[:-1], schema=schema)


def read_batches(table: str, schema: pa.Schema, batch_size: int, cfg: NexmarkConfig,
                 pace: bool = True) -> Iterator[pa.RecordBatch]:
    """Batches with exactly `schema` (a subset of the table's columns, any order; types cast from the
    generator's, e.g. timestamp to timestamptz, bigint to int or double)."""
    names = schema.names
    for b in generate(table, cfg, names, batch_size, pace):
        if b.schema.equals(schema):
            yield b
        else:
            yield pa.RecordBatch.from_arrays([col.cast(f.type) for col, f in zip(b.columns, schema, strict=True)],
                                             schema=schema)


def generate_table(table: str, cfg: NexmarkConfig, columns: list[str] | None = None) -> pa.Table:
    """All rows of `table` at once (for batch targets), in arrival order."""
    full = COLUMNS[table] if table in COLUMNS else None
    cols = list(columns) if columns is not None else (full.names if full is not None else [])
    schema = pa.schema([full.field(c) for c in cols]) if full is not None else pa.schema([])
    return pa.Table.from_batches(list(generate(table, cfg, cols, 1 << 20, pace=False)), schema)


__all__ = ["NexmarkConfig", "COLUMNS", "TABLES", "generate", "read_batches", "generate_table", "channel_table",
           "last_base0_person_id", "last_base0_auction_id", "event_time_ms", "next_price"]
