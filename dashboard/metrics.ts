/** The Prometheus rendering lives in the core, so that `balancer.metrics()` needs no dashboard. */
export { METRICS_CONTENT_TYPE, renderMetrics, escapeLabelValue, formatValue } from '../middleware/stats/prometheus.js';
