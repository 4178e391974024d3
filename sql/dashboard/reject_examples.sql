-- Crawl quality: rejects by reason, with example files and what was wrong with them.
select reason, count(*) as files, list(source_path order by source_path)[1:3] as example_files, min(detail) as example_detail
from rejects
group by reason
order by files desc, reason
