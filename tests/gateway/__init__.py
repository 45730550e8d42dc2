"""Client tests against scripted gateways (httpx.MockTransport) and a loopback TLS server."""
