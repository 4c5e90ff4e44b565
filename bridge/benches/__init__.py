"""What ``worldbridge bench ...`` runs (figures in bench/README.md): generation (photo to first tile,
one tile), a fast player streaming from a server, many viewers served at once.
"""
