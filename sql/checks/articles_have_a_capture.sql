-- Every article is the best capture of a file we hold.
select a.article_id, a.source_path
from articles as a
left join captures as c on c.source_path = a.source_path and c.article_id = a.article_id
where c.source_path is null;
