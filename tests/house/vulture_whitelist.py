"""Names the dead-code finder cannot see used: a framework or the standard library reads them."""

# vulture only parses this file (it is on its `paths` in pyproject.toml); it is never imported or
# run. Each line marks one name as used; the comment says who uses it.

from typing import Any

_: Any = None

# Textual reads these widget attributes our code sets.
_.display  # Widget.display: shown or hidden (the filter input, the provider list)
_.compact  # Button.compact: slimmer buttons on short terminals
_.disabled  # Widget.disabled: the bulk dialog's Yes button until the typed word matches
_.background  # Styles.background: the crumb bar takes the profile's accent colour
_.control  # Message.control: lets @on(..., selector) match the batch table's messages
_._button  # ToggleButton._button: the profile form's checkbox drawn as [x] / [ ]

# Arguments a caller's signature requires even where the body does not need them.
_.parameters  # Textual's check_action(action, parameters)
_.exc_info  # __aexit__(*exc_info) of the async context-manager protocol
_.signum  # signal.signal handlers are called as handler(signum, frame)

# http.server and socketserver read these class attributes of the simulator's server.
_.close_connection  # BaseHTTPRequestHandler: close the connection after this answer
_.protocol_version  # BaseHTTPRequestHandler: answer HTTP/1.1 (keep-alive like the gateway)
_.server_version  # BaseHTTPRequestHandler: the Server header
_.sys_version  # BaseHTTPRequestHandler: no Python version in the Server header
_.daemon_threads  # ThreadingMixIn: request threads never block interpreter exit
_.block_on_close  # ThreadingMixIn: server_close() does not wait for request threads
_.date_time_string  # BaseHTTPRequestHandler: the Date header (the world's clock)
_._run_input_thread  # ui/terminal.py: Textual's Linux driver runs it as its input thread

# The injected clock and the simulator's scripting hooks: tests and benchmarks (bench/ is not on
# vulture's paths) drive time and faults through them; the product's own runs use SystemClock and
# the simulator's random faults (--error-rate).
_.ManualClock  # clock.py: the deterministic clock of every test, snapshot and benchmark
_.fail_next  # sim/faults.py: the next N requests answer an HTTP error
_.drop_next  # sim/faults.py: the next N requests lose their connection
_.refuse_next  # sim/faults.py: the next N requests are refused at connect
_.create_batch  # sim/world.py: a batch made to order for a scenario
_.clear_request_log  # sim/world.py: start counting a scenario's requests from zero
_.header_names  # sim/world.py: what a logged request carried (never the values)
_.set_results  # sim/world.py: a batch's results shaped for a scenario (raw, hostile, large)
# The table's cursor by batch: benchmarks (bench/network.py) and Pilot tests move to a known row.
_.move_cursor_to_key
