"""Toy family: the smallest end-to-end loop (run -> results -> leaderboard) on scikit-learn's bundled digits."""
