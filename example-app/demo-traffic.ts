import http from 'node:http';

/**
 * A trickle of requests to the app's own routes, so that the dashboard is alive when opened.
 * A few clients keep their sticky cookie, the way browsers would; every other request comes
 * without one (curl, API clients), so a reweight, a drain or a new server visibly moves traffic.
 */
export function startDemoTraffic(base: string, { perSecond = 12, clients = 6 } = {}): () => void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const cookies = new Array<string | undefined>(clients).fill(undefined);
  let tick = 0;
  const timer = setInterval(() => {
    const client = tick++ % clients;
    const path = tick % 4 === 0 ? '/static/logo.png' : `/api/items/${tick % 50}`;
    const sticky = tick % 2 === 0;
    const headers = sticky && cookies[client] ? { cookie: cookies[client] } : {};
    const req = http.get(`${base}${path}`, { agent, headers }, (res) => {
      const set = res.headers['set-cookie']?.find((cookie) => cookie.startsWith('sy='));
      if (set && sticky) cookies[client] = set.split(';', 1)[0];
      res.resume();
    });
    req.on('error', () => {}); // a demo: a refused request during shutdown is fine
  }, 1000 / perSecond);
  timer.unref();
  return () => {
    clearInterval(timer);
    agent.destroy();
  };
}
