"""A notebook-style corpus for Python state fidelity: cells written the way notebook work is
written (data wrangling with the standard library, classes, dataclasses, typing, closures,
comprehensions, seeded random, decimal, caches), each notebook a list of cells, run one cell per
submission.  Cells are separated by a line ``# %%``; nothing here depends on the host (no ids,
clocks or paths), so a cell whose output differs between two runs of the ground truth is a
cell of the corpus's own making, counted as indeterminate.
"""

from __future__ import annotations

_NOTEBOOKS = {
"csv_wrangling": r'''
import csv, io
from collections import Counter, defaultdict
# %%
raw = """city,year,sales
Lyon,2021,120
Paris,2021,340
Lyon,2022,150
Nice,2022,90
Paris,2022,310
"""
rows = list(csv.DictReader(io.StringIO(raw)))
len(rows)
# %%
for r in rows:
    r['sales'] = int(r['sales'])
    r['year'] = int(r['year'])
rows[0]
# %%
by_city = defaultdict(list)
for r in rows:
    by_city[r['city']].append(r['sales'])
dict(by_city)
# %%
totals = {c: sum(v) for c, v in by_city.items()}
sorted(totals.items(), key=lambda kv: -kv[1])
# %%
counts = Counter(r['city'] for r in rows)
counts.most_common(2)
# %%
best = max(rows, key=lambda r: r['sales'])
best['city'], best['year']
# %%
rows.append({'city': 'Nice', 'year': 2023, 'sales': 105})
by_city['Nice'].append(105)
totals = {c: sum(v) for c, v in by_city.items()}
totals['Nice']
# %%
years = sorted({r['year'] for r in rows})
years
# %%
pivot = {c: {y: sum(r['sales'] for r in rows if r['city'] == c and r['year'] == y) for y in years}
         for c in sorted(by_city)}
pivot['Lyon']
# %%
out = io.StringIO()
w = csv.writer(out)
w.writerow(['city'] + years)
for c, row in pivot.items():
    w.writerow([c] + [row[y] for y in years])
print(out.getvalue())
''',
"dataclass_inventory": r'''
from dataclasses import dataclass, field, asdict
from typing import List, Optional
# %%
TAX = 0.2
# %%
@dataclass
class Item:
    name: str
    price: float
    qty: int = 1
    tags: List[str] = field(default_factory=list)

    def total(self, tax: float = TAX) -> float:
        return round(self.price * self.qty * (1 + tax), 2)
# %%
stock = [Item('pen', 1.5, 10), Item('book', 12.0, 2, ['paper']), Item('mug', 6.0)]
stock[1]
# %%
[i.total() for i in stock]
# %%
stock[2].qty += 3
stock[2]
# %%
cheap = [i for i in stock if i.price < 5]
cheap[0] is stock[0]
# %%
cheap[0].tags.append('sale')
stock[0].tags
# %%
asdict(stock[1])
# %%
@dataclass(order=True)
class Item:
    price: float
    name: str = ''
# %%
sorted([Item(3.0, 'a'), Item(1.0, 'b')])
# %%
inventory_value = sum(i.price * i.qty for i in stock)
inventory_value
''',
"typing_and_generics": r'''
from typing import TypeVar, Generic, Dict, List, NamedTuple, NewType, Callable
# %%
T = TypeVar('T')
K = TypeVar('K')
# %%
Vector = list[float]
Matrix = List[Vector]
# %%
def scale(v: Vector, k: float) -> Vector:
    return [k * x for x in v]
# %%
scale([1.0, 2.5], 2)
# %%
class Stack(Generic[T]):
    def __init__(self) -> None:
        self.items: List[T] = []
    def push(self, x: T) -> None:
        self.items.append(x)
    def pop(self) -> T:
        return self.items.pop()
# %%
s = Stack[int]()
s.push(1); s.push(2); s.push(3)
s.pop()
# %%
s.items
# %%
UserId = NewType('UserId', int)
def lookup(u: UserId) -> str:
    return f'user-{u}'
# %%
lookup(UserId(7))
# %%
class Pair(NamedTuple):
    left: int
    right: int
# %%
p = Pair(1, 2)
p._replace(right=5)
# %%
def apply(f: Callable[[int], int], xs: List[int]) -> List[int]:
    return [f(x) for x in xs]
def double(x: int) -> int:
    return 2 * x
apply(double, [1, 2, 3])
# %%
scale.__annotations__['v'] == Vector
''',
"closures_and_counters": r'''
def make_counter(start=0):
    count = start
    def inc(step=1):
        nonlocal count
        count += step
        return count
    return inc
# %%
def make_adder(n):
    def add(x):
        return x + n
    return add
# %%
add5 = make_adder(5)
add5(10)
# %%
c = make_counter()
[c() for _ in range(3)]
# %%
c()
# %%
def memo(fn):
    cache = {}
    def wrapper(n):
        if n not in cache:
            cache[n] = fn(n)
        return cache[n]
    wrapper.cache = cache
    return wrapper
# %%
@memo
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
# %%
fib(30)
# %%
len(fib.cache)
# %%
calls = []
def traced(x):
    calls.append(x)
    return x * x
# %%
[traced(i) for i in range(4)]
# %%
calls
''',
"random_seeded": r'''
import random
random.seed(1234)
# %%
random.randint(1, 100)
# %%
sample = [random.random() for _ in range(3)]
len(sample)
# %%
random.choice('abcdef')
# %%
deck = list(range(10))
random.shuffle(deck)
deck
# %%
rng = random.Random(99)
rng.randint(0, 1000)
# %%
rng.randint(0, 1000)
# %%
random.gauss(0, 1) < 10
# %%
random.sample(range(100), 5)
# %%
random.seed(1234)
random.randint(1, 100)
''',
"text_processing": r'''
import re
from collections import Counter
import string
# %%
text = """It was the best of times, it was the worst of times,
it was the age of wisdom, it was the age of foolishness"""
# %%
words = re.findall(r"[a-z]+", text.lower())
len(words)
# %%
freq = Counter(words)
freq.most_common(3)
# %%
STOP = {'it', 'was', 'the', 'of'}
content = [w for w in words if w not in STOP]
content
# %%
def title_case(s, small=('of', 'the')):
    return ' '.join(w if w in small else w.capitalize() for w in s.split())
# %%
title_case('the age of wisdom')
# %%
table = str.maketrans('', '', string.punctuation)
text.translate(table)[:20]
# %%
string = 'abc'
string.upper()
# %%
string
# %%
pat = re.compile(r'(\w+) of (\w+)')
pat.findall(text)[:2]
''',
"math_and_shadowing": r'''
from math import e, pi, sqrt
import math
# %%
e = 5
e
# %%
e + 1
# %%
pi
# %%
def hyp(a, b):
    return sqrt(a * a + b * b)
hyp(3, 4)
# %%
sqrt = lambda x: -1
# %%
math.sqrt(16)
# %%
import decimal
decimal.getcontext().prec = 6
# %%
decimal.Decimal(1) / decimal.Decimal(7)
# %%
from fractions import Fraction
half = Fraction(1, 2)
half + Fraction(1, 3)
# %%
decimal.getcontext().prec
''',
"class_attributes": r'''
class Counter:
    instances = 0
    registry = []
    def __init__(self, name):
        self.name = name
        Counter.instances += 1
        Counter.registry.append(self)
# %%
a = Counter('a')
b = Counter('b')
Counter.instances
# %%
Counter.instances
# %%
c = Counter('c')
[x.name for x in Counter.registry]
# %%
Counter.registry[0] is a
# %%
def handler():
    handler.calls += 1
    return handler.calls
handler.calls = 0
# %%
handler(); handler()
# %%
handler.calls
# %%
class K:
    n = 0
# %%
K.n += 1
# %%
K.n
''',
"graph_and_aliasing": r'''
class Node:
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)
    def path(self):
        return (self.parent.path() + '/' if self.parent else '') + self.name
    def __repr__(self):
        return f'Node({self.name!r})'
# %%
root = Node('root')
usr = Node('usr', root)
local = Node('local', usr)
local.path()
# %%
local.parent is usr
# %%
root.children[0].children
# %%
a = []
b = a
b.append(1)
a
# %%
a is b
# %%
matrix = [[0] * 3] * 3
matrix[0][0] = 1
matrix
# %%
matrix[1] is matrix[2]
# %%
config = {'db': {'host': 'x'}}
db = config['db']
db['host'] = 'y'
config
# %%
graph = {'a': ['b', 'c'], 'b': ['d'], 'c': ['d'], 'd': []}
def dfs(g, start, seen=None):
    seen = seen if seen is not None else []
    seen.append(start)
    for n in g[start]:
        if n not in seen:
            dfs(g, n, seen)
    return seen
dfs(graph, 'a')
''',
"enums_and_namedtuples": r'''
from enum import Enum, auto
from collections import namedtuple
# %%
class Suit(Enum):
    HEARTS = auto()
    SPADES = auto()
# %%
Color = Enum('Color', 'RED GREEN BLUE')
list(Color)
# %%
fav = Color.GREEN
fav
# %%
fav is Color.GREEN
# %%
Card = namedtuple('Card', 'rank suit')
hand = [Card(10, Suit.HEARTS), Card(3, Suit.SPADES)]
hand[0]
# %%
sorted(hand, key=lambda c: c.rank)[0].suit
# %%
Point = namedtuple('Point', ['x', 'y'], defaults=[0])
Point(1)
# %%
pts = [Point(i, i * i) for i in range(4)]
max(pts, key=lambda p: p.y)
# %%
Suit['SPADES'].value
''',
"defaults_and_constants": r'''
N = 10
# %%
def f(n=N):
    return n * 2
# %%
f()
# %%
N = 20
# %%
f(), N
# %%
SIZE = 3
class Board:
    cells = [0] * SIZE
    def __init__(self):
        self.grid = [[' '] * SIZE for _ in range(SIZE)]
# %%
bd = Board()
len(bd.grid), Board.cells
# %%
def add(x, acc=[]):
    acc.append(x)
    return acc
# %%
add(1)
# %%
add(2)
# %%
LIMIT = 100
def clamp(x, lo=0, hi=LIMIT):
    return max(lo, min(hi, x))
clamp(250)
''',
"functional_pipeline": r'''
from functools import reduce, partial
import itertools, operator
# %%
nums = list(range(1, 11))
# %%
squares = list(map(lambda x: x * x, nums))
squares[-3:]
# %%
evens = [n for n in nums if n % 2 == 0]
reduce(operator.mul, evens)
# %%
pow2 = partial(pow, 2)
[pow2(i) for i in range(5)]
# %%
pairs = list(itertools.combinations('abcd', 2))
len(pairs)
# %%
groups = {k: list(g) for k, g in itertools.groupby(sorted(nums, key=lambda n: n % 3), key=lambda n: n % 3)}
groups
# %%
acc = list(itertools.accumulate(nums))
acc[-1]
# %%
def compose(*fs):
    def run(x):
        for fn in reversed(fs):
            x = fn(x)
        return x
    return run
inc_then_double = compose(lambda x: 2 * x, lambda x: x + 1)
# %%
flat = [x for row in [[1, 2], [3], [4, 5]] for x in row]
flat
# %%
{n: n ** 3 for n in nums if n > 7}
''',
"json_records": r'''
import json
from datetime import date, timedelta
# %%
records = json.loads('[{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}, {"id": 3, "tags": ["a", "b"]}]')
len(records)
# %%
index = {r['id']: r for r in records}
index[3]['tags'].append('c')
records[2]
# %%
start = date(2024, 1, 31)
days = [start + timedelta(days=i) for i in range(3)]
days
# %%
[d.isoformat() for d in days]
# %%
def tagged(tag, rs=records):
    return [r['id'] for r in rs if tag in r['tags']]
tagged('a')
# %%
records.append({'id': 4, 'tags': ['a']})
tagged('a')
# %%
print(json.dumps(index[1], sort_keys=True))
# %%
json.dumps({'when': str(days[0])})
# %%
summary = {t: len(tagged(t)) for t in 'abc'}
summary
''',
"caching_and_logging": r'''
from functools import lru_cache
# %%
@lru_cache(maxsize=None)
def ways(n):
    return 1 if n <= 1 else ways(n - 1) + ways(n - 2)
# %%
ways(40)
# %%
ways.cache_info().hits > 0
# %%
import logging
logging.basicConfig(level=logging.INFO, format='%(message)s')
# %%
log = logging.getLogger('nb')
log.getEffectiveLevel()
# %%
import sys
sys.setrecursionlimit(3000)
sys.getrecursionlimit()
# %%
sys.getrecursionlimit()
# %%
def deep(n):
    return 0 if n == 0 else 1 + deep(n - 1)
deep(2500)
''',
"errors_and_recovery": r'''
data = [3, 1, 0, 4]
# %%
def safe_div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return float('inf')
# %%
[safe_div(10, d) for d in data]
# %%
10 / data[2]
# %%
partial_result = []
for d in data:
    partial_result.append(d * 2)
    if d == 0:
        raise ValueError('zero found')
# %%
partial_result
# %%
class ValidationError(Exception):
    pass
def check(x):
    if x < 0:
        raise ValidationError(f'negative: {x}')
    return x
# %%
try:
    check(-1)
except ValidationError as exc:
    err = exc
str(err)
# %%
undefined_name + 1
# %%
data.sort()
data
''',
"simulation": r'''
import random
random.seed(2024)
# %%
class Particle:
    def __init__(self, x, v):
        self.x, self.v = x, v
    def step(self, dt=1.0):
        self.x += self.v * dt
        return self
# %%
particles = [Particle(random.uniform(0, 10), random.uniform(-1, 1)) for _ in range(5)]
round(sum(p.x for p in particles), 6)
# %%
for _ in range(10):
    for p in particles:
        p.step(0.5)
round(sum(p.x for p in particles), 6)
# %%
fastest = max(particles, key=lambda p: abs(p.v))
fastest in particles
# %%
history = []
for t in range(3):
    history.append([round(p.x, 3) for p in particles])
    for p in particles:
        p.step()
len(history), len(history[0])
# %%
round(random.random(), 12)
# %%
random.seed(5)
walk = [0]
for _ in range(20):
    walk.append(walk[-1] + random.choice((-1, 1)))
walk[-1]
# %%
round(random.random(), 12)
''',
}


def notebooks() -> dict[str, list[str]]:
    """Every notebook as its list of cells (the text between ``# %%`` lines, stripped)."""
    return {name: [c.strip("\n") for c in text.split("\n# %%\n") if c.strip()]
            for name, text in _NOTEBOOKS.items()}
