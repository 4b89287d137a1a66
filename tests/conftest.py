import os
import sys

# tests import their helpers as plain modules (`from support import ...`)
sys.path.insert(0, os.path.dirname(__file__))
