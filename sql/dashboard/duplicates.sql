-- Crawl quality: the stories captured more than once.
select title, published_at, capture_count from articles where capture_count > 1 order by capture_count desc, title limit 100
