"""The pure domain core: no Kafka, no Faust, no I/O beyond its own data files.

The streaming adapter and the offline replay both drive these functions, which
is what makes a replay produce what the stream produces.
"""
