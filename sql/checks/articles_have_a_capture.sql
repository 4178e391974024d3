-- Every article is the best capture of a file we hold: each story's chosen capture is a
-- capture of that story (else `articles`, which joins on both, would lose the story).
select b.article_id, b.source_path
from checked_best_captures as b
left join captures as c on c.source_path = b.source_path and c.article_id = b.article_id
where c.source_path is null;
