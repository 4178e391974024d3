-- Outlets: every outlet with its article count and first and last article.
select outlet, articles, first_seen, last_seen from outlets order by articles desc, outlet
