import path from 'node:path';
import ejs from 'ejs';
import { SERVER_FIELDS, type DashboardView, type ServerView } from './view-model.js';

/** What views/dashboard.ejs reads. */
export interface PageData {
  title: string;
  user: string;
  csrfToken: string;
  view: DashboardView;
}

/** A server row with every cell empty: the `<template>` the browser clones for servers added later. */
const BLANK_ROW: ServerView = {
  id: '',
  state: '',
  health: '',
  backup: false,
  cells: Object.fromEntries(SERVER_FIELDS.map((field) => [field, ''])) as ServerView['cells'],
  titles: {},
  trend: [],
};

/**
 * Render the overview page with `ejs.renderFile` (never Express's `res.render`, which Koa and
 * a bare server lack). Every value goes through `<%= %>`, so it is HTML-escaped.
 */
export function renderPage(viewsDir: string, data: PageData): Promise<string> {
  const locals = { ...data, blankRow: BLANK_ROW, encode: encodeURIComponent };
  // cache: compiled once per process; the templates ship with the package and do not change
  return ejs.renderFile(path.join(viewsDir, 'dashboard.ejs'), locals, { cache: true, async: false, rmWhitespace: false });
}
