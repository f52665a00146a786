/*
 * The app's service worker: the shell and hashed assets come from the cache when the network is gone,
 * and the last answers of the reads an agent needs offline (the session and the inbox pages) are kept,
 * network first, so the last inbox stays readable offline. Nothing else of the API is cached.
 */
// The shell is cached as /index.html: the server answers `/` with it only for requests that accept HTML.
const SHELL = 'crm-shell-v1';
const DATA = 'crm-data-v1';
const OFFLINE_READS = /^\/api\/(session|inbox|users\/me)(\?|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(['/index.html', '/manifest.webmanifest', '/icon.svg']))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== DATA).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('message', (event) => {
  // Sign-out: nothing of the last user stays readable.
  if (event.data === 'clear-data') event.waitUntil(caches.delete(DATA));
});

async function networkFirst(request, cacheName, fallbackUrl) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(fallbackUrl ?? request, response.clone());
    }
    return response;
  } catch (err) {
    const cached = await caches.match(fallbackUrl ?? request);
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) (await caches.open(SHELL)).put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirst(request, SHELL, '/index.html'));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(cacheFirst(request));
  } else if (OFFLINE_READS.test(url.pathname + url.search) && url.pathname !== '/api/inbox/stream') {
    event.respondWith(networkFirst(request, DATA));
  }
});
