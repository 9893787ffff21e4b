"""The return-plan solver: dataclasses in, dataclasses out, no Django.

``model`` holds the instance and the plan, ``files`` reads and writes their JSON files, ``generate`` makes
synthetic instances, ``solve`` finds a plan (a fast greedy plan, then LP-guided improvement, with the LP
relaxation's bound; exact MILP on small instances), ``check`` verifies a plan independently and
``resources`` turns a plan into people, transport, shelter, water, food, kits, grants and costs.
"""
