-- One piece of the articles (see newswh/load.py): the best capture of each affected story,
-- with its capture count, for the best captures whose paths lie in [$low, $high]. The range
-- reaches the scan of `captures`, so only this piece's page text is read.
insert into articles by name
select c.*, b.capture_count
from captures as c
inner join best_captures as b using (source_path)
where c.source_path between $low and $high
