"""The pure core: builds neutral requests, reads neutral responses, decides paging and retries.

Nothing in this package performs I/O, sleeps, reads clocks or imports an HTTP library or an
event loop; the async and sync clients drive it, and a test imports it with those blocked.
"""
