// Loaded into each app `npm start` runs (node --import): when npm start's supervisor is gone (killed
// outright, or crashed), the app stops as on SIGTERM instead of running on as an orphan that holds its
// port and takes jobs from the next npm start's queues (operator walk, stop 33). Dev only: in production
// the apps have no such parent, and their supervisor (compose, Kubernetes) stops them itself.
const supervisor = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === supervisor) return;
  clearInterval(watch);
  process.kill(process.pid, 'SIGTERM');
}, 500);
watch.unref();
