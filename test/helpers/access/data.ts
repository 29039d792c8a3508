import type { RouteCase } from './route-case.js'

// the data path: the dataset does not exist, so a granted role reaches the handler and gets its 404
export const DATA_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/api/v1/data/{dataset}/records', url: '/api/v1/data/none_here/records', allowed: ['consumer', 'steward'] },
  { method: 'GET', path: '/api/v1/data/{dataset}/schema', url: '/api/v1/data/none_here/schema', allowed: ['consumer', 'steward'] }
]
