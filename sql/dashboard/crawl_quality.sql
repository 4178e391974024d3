-- Crawl quality: every aspect of crawl_quality, with its share.
select aspect, category, count, unit, share from crawl_quality order by aspect, count desc, category
